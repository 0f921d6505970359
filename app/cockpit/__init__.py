"""The leader's cockpit (数字驾驶舱): the state of a unit's cases on one screen.

- :mod:`.models`: ``cockpit_daily_counts``, the daily roll-up of arrivals (by channel and by
  category) and closures per org unit, kept by database triggers in the transaction of the change;
- :mod:`.rollups`: recompute and rebuild that roll-up from the cases (``flask cockpit rebuild``);
- :mod:`.queries`: the cockpit's figures for one unit and period, from the roll-up and the open set.

Which cases a unit's figures count is documented in ``docs/cockpit.md``.
"""
