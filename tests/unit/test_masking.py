from outreach.masking import mask_email, mask_phone


def test_phone_keeps_country_code_and_last_four_only():
    assert mask_phone("+12125550142") == "+1******0142"
    assert mask_phone("+8613812345678") == "+86*******5678"


def test_email_keeps_first_letter_and_domain_only():
    assert mask_email("jane.doe@example.com") == "j***@example.com"


def test_empty_values_mask_to_empty():
    assert mask_phone(None) == "" and mask_email("") == ""


def test_a_hand_off_without_an_address_masks_to_empty():
    # An agent-queue or letter step has no contact address; pandas hands it over as NaN.
    from outreach.masking import mask_address

    assert mask_address("agent_queue", float("nan")) == "" and mask_address("email", float("nan")) == ""
