"""Who is asking: tokens, principals and the policy table (DESIGN §4)."""
