"""The conversation: prompt context and history, hearing (voice signals -> who and how), the fast
path answered before the planner, and spoken enrolment."""
