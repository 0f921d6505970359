"""Photos and files attached to a case: stored outside the workflow state, served only to people who may see the case."""
