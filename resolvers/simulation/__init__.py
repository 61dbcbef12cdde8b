"""``bizgraph simulate``: realistic sales activity at a steady rate, so that live dashboards move.

Every action is one of the business commands the mutations run (``resolvers/*/commands.py``), run
by ``CommandService`` as one of the organization's own users, so each leaves the same rows, audit
entries and events an API write would. ``staff.py`` finds the users, ``actions.py`` decides what
each action does, ``run.py`` paces them and counts what happened.
"""

from resolvers.simulation.run import Simulation, Tally
from resolvers.simulation.staff import Staff, load_staff

__all__ = ["Simulation", "Staff", "Tally", "load_staff"]
