"""Credit screening (信用筛查, issue 11): the negative lists a bureau receives, imported and matched by USCC."""
