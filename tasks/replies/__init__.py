"""Reading unit contacts' emailed replies: body text, quote stripping, auto-reply and bounce
detection, and the intent on the reply's first lines (see `reading`)."""
