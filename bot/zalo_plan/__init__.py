"""Living within the Zalo Bot's plan: 50 people per bot, 3,000 messages a month."""
