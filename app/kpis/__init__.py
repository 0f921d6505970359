"""KPIs (考核评价): facts recorded as cases change, formulas as data, figures per unit and period."""
