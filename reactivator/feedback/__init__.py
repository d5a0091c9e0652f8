"""What comes back from mailbox providers: delivery status notifications, read from a mailbox.

mailboxes   the messages of a Maildir folder, an mbox file or one message file
dsn         RFC 3464 reports: who bounced, and how hard
"""
