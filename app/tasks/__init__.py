"""The task table (a projection of ready user tasks), inboxes, claim/unclaim/complete."""
