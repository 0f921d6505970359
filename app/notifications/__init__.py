"""In-app notifications: urges, reminders, reassignments and decisions reach people here."""
