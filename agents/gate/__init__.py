"""The BIT gate: joins forwarded lead cards with the latest BIT score of their company."""
