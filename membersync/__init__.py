"""MemberSync: course access derived from what people bought."""
