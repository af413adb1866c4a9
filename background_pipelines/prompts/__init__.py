"""Scheduled prompts ("remind me Friday at 9 to call mum"): one-off and cron prompts per user and
character, in the user's timezone, fired exactly once each by scheduled_prompts_sensor and delivered
to the bot through the signed actions webhook (actions.py). See api.py for how "once" is kept."""

from background_pipelines.prompts.api import (
    FireResult,
    Prompt,
    add_prompt,
    cancel_prompt,
    cleanup_prompts,
    fire_due_prompts,
    list_prompts,
)
from background_pipelines.prompts.schedule import PromptError

__all__ = ["FireResult", "Prompt", "PromptError", "add_prompt", "cancel_prompt", "cleanup_prompts", "fire_due_prompts", "list_prompts"]
