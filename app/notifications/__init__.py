"""Customer and staff emails, driven by the outbox of committed business events.

``EmailDispatcher`` (dispatcher.py) turns each organization's new events into
deliveries (expand.py: one per event, recipient and kind), then claims due
deliveries with ``FOR UPDATE SKIP LOCKED``, renders them (content.py, render.py,
the Jinja2 templates beside this module) and sends them over SMTP (smtp.py),
logging every attempt and retrying on the schedule of app/delivery/retry.py.
"""

from app.notifications.dispatcher import EmailDispatcher
from app.notifications.smtp import SmtpSettings

__all__ = ["EmailDispatcher", "SmtpSettings"]
