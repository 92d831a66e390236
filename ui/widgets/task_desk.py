"""What the RAMQ's two queue pages share (« File de travail » for respondents, « Contre-signature »
for the SOES): which task is open, the picker under the queue's table, claiming and releasing a
task, and its due date. Each page keeps its own table, review and decision; every change goes
through ``flows.api``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from flows.api import claim_task, unclaim_task
from ui.feedback import guarded, refusals
from ui.formatting import fmt_dt
from ui.i18n import t


@dataclass(frozen=True)
class TaskDesk:
    """One queue page's task handling for the signed-in ``staff``; ``prefix`` names its widgets'
    keys (``q``: ``q_pick``, ``q_open``…), ``selected`` the state key of the open task."""

    staff: str
    prefix: str
    selected: str

    def open_task(self) -> int | None:
        value = st.session_state.get(self.selected)
        return int(value) if value else None

    def _open(self) -> None:
        # Read the choice from the state: the box may have changed in the same click.
        st.session_state[self.selected] = st.session_state.get(f"{self.prefix}_pick")

    def close(self) -> None:
        st.session_state.pop(self.selected, None)

    def _claim(self, task_id: int) -> None:
        with refusals():
            claim_task(task_id, staff=self.staff)

    def _unclaim(self, task_id: int) -> None:
        with refusals():
            unclaim_task(task_id, staff=self.staff)

    def picker(self, rows: list[Any], describe: Callable[[Any], str]) -> None:
        """The box that opens one of the queue's tasks (``rows`` have a ``task_id``)."""
        choices = {r.task_id: r for r in rows}
        st.selectbox(t("open_task"), list(choices), key=f"{self.prefix}_pick", placeholder=t("choose"),
                     format_func=lambda tid: describe(choices[tid]))
        st.button(t("open_task"), key=f"{self.prefix}_open", type="primary", on_click=self._open)

    def back_button(self) -> None:
        st.button(t("back_to_queue"), key=f"{self.prefix}_back", on_click=self.close,
                  icon=":material/arrow_back:")

    @staticmethod
    def due(task: dict) -> None:
        due = fmt_dt(task["due_at"])
        if task["overdue"] and task["status"] == "open":
            st.warning(t("task_overdue", due=due))
        else:
            st.caption(t("task_due", due=due))

    def claim_panel(self, task: dict, task_id: int, *, claim_first: str) -> bool:
        """Who holds the task, with the button to claim or release it; whether this person may
        decide (the task is open and theirs)."""
        is_open = task["status"] == "open"
        mine = task["claimed_by"] == self.staff
        if not is_open:
            st.info(t("task_not_open"))
        elif mine:
            st.success(t("claimed_by_you"))
            st.button(t("unclaim"), key=f"{self.prefix}_unclaim", on_click=guarded(self._unclaim),
                      args=(task_id,))
        elif task["claimed_by"]:
            st.info(t("claimed_by_other", who=task["claimed_by"]))
        else:
            st.info(t(claim_first))
            st.button(t("claim"), key=f"{self.prefix}_claim_btn", type="primary", on_click=guarded(self._claim),
                      args=(task_id,))
        return is_open and mine
