"""A Chinese collection letter is judged by the fields it carries as rendered, not by its wording."""

from jinja2 import Environment

from outreach.messages import Renderer, Sender
from outreach.template_checks import check_template, letter_fields, missing_letter_fields

ACCOUNT = {"account_id": "AC00000088", "name": "王小明", "balance_due_minor": 1234567, "currency": "CNY", "dpd": 45}
BANKS_OWN = """尊敬的{% block debtor_name %}{{ full_name }}{% endblock %}：
{% block amount_owed %}截至今日应还 {{ amount_due }}{% endblock %}
{% block legal_basis %}依照合同第十二条及《民法典》{% endblock %}
{% block rights_and_duties %}您可查询明细、提出异议；应按约还款{% endblock %}
{% block account_inquiry %}手机银行“账户”页{% endblock %}
{% block objection %}三十日内书面提出并附证据{% endblock %}
{% block bank_contact %}{{ callback_number }}{% endblock %}
{% block seal %}{% endblock %}"""


def fields_of(source, account=ACCOUNT, seal=None):
    renderer = Renderer(
        Sender("示例银行", "95555", "深圳市", "https://pay.example.com/", "https://u.example.com/", seal)
    )
    context = renderer.context({**account, "locale": "zh-CN"})
    template = Environment().from_string(source)
    return missing_letter_fields(letter_fields(template, context), context, seal, template.render(context))


def test_a_banks_own_wording_passes_when_every_field_is_filled_and_the_seal_is_applied_as_metadata():
    assert fields_of(BANKS_OWN) == ["seal or signature"]
    assert fields_of(BANKS_OWN, seal="e-seal:SZ-2026-001") == []


def test_a_field_left_out_or_empty_for_this_account_is_named():
    without_objection = BANKS_OWN.replace("{% block objection %}三十日内书面提出并附证据{% endblock %}", "")
    assert "objection method" in fields_of(without_objection, seal="e-seal")
    no_name = fields_of(BANKS_OWN, account={**ACCOUNT, "name": ""}, seal="e-seal")
    assert any(problem.startswith("debtor name") for problem in no_name)
    wrong_amount = BANKS_OWN.replace("{{ amount_due }}", "若干")
    assert "amount owed (the field does not carry the amount due)" in fields_of(wrong_amount, seal="e-seal")


def test_the_shipped_letter_loads_and_a_template_with_the_words_but_no_fields_is_refused():
    words_only = "法律依据 权利与义务 账户查询方式 异议提出方式 本行联系方式 盖章 {{ full_name }} {{ amount_due }}"
    report = check_template("letter", "collection_notice", "zh-CN", words_only, Environment())
    assert report.problems and "debtor name" in report.problems[0]
    rendered = Renderer().render("letter", "collection_notice", {**ACCOUNT, "locale": "zh-CN"})
    assert rendered.missing == () and "王小明" in rendered.body


def test_a_field_the_template_defines_but_never_prints_is_missing():
    hidden = "{% if show_objection %}" + BANKS_OWN + "{% endif %}"
    assert "objection method" in fields_of(hidden, seal="e-seal"), "a block inside a false branch is not on the letter"
