"""Scheduling: the one APScheduler 3.x AsyncIOScheduler (Asia/Ho_Chi_Minh) and its thin jobs."""
