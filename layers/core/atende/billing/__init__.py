"""Money and usage: value types, prices, periods, the budget hold, metrics, alarms and holds."""
