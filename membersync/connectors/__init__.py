"""Connected systems speaking to MemberSync: their webhooks in, stored raw and applied by the worker."""
