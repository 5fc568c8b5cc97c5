"""Email: the seven email tasks of FastroAI's Background Tasks page, and a mail catcher."""
