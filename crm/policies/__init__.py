"""The policy catalogue (政策库): policies officers explain on visits and push to eligible enterprises."""
