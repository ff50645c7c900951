-- The newsroom's channel (issue 12): where each published piece is also posted once. The running
-- bot records it at start (CHANNEL_ID resolved to a chat id, and whether it may post there);
-- publishing anywhere (the command line too) then adds one delivery for it beside the
-- subscribers' (storage/pieces.py go_live), so the post has the outbox's guarantees, and
-- corrections and withdrawals follow it up like any sent notification.
CREATE TABLE channel (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    chat_id   INTEGER NOT NULL,
    thread_id INTEGER,                 -- a forum topic
    problem   TEXT,                    -- why the bot cannot post there (NULL: it can)
    checked_at REAL NOT NULL
);
