"""Refer: reports of decided cases to NCMEC's CyberTipline and the UK National Crime Agency,
built as drafts, approved by a person, sent without loss or silence (docs/referrals.md)."""
