from content.markdown import render_inline, render_markdown


def test_script_tags_never_reach_the_page():
    html = render_inline("Hello <script>alert('x')</script> world")
    assert "<script" not in html
    assert "alert(" not in html


def test_event_handlers_are_removed():
    html = render_inline('<p onclick="steal()">Click</p><img src="/a.png" onerror="steal()">')
    assert "onclick" not in html
    assert "onerror" not in html
    assert "Click" in html


def test_javascript_links_are_removed():
    html = render_inline("[click me](javascript:alert(1)) and <a href='javascript:x()'>raw</a>")
    assert "javascript:" not in html
    assert "click me" in html


def test_tables_fenced_code_and_admonitions_render():
    source = (
        "| Scenario | Use |\n|---|---|\n| PKCS #11 | CloudHSM |\n\n"
        "```text\naws kms encrypt\n```\n\n"
        '!!! exam-answer "Exam answer"\n    CloudHSM.\n'
    )
    html = render_inline(source)
    assert "<table>" in html and "<td>CloudHSM</td>" in html
    assert "<pre><code" in html and "aws kms encrypt" in html
    assert 'class="admonition exam-answer"' in html
    assert 'class="admonition-title">Exam answer' in html


def test_headings_get_anchors_and_a_table_of_contents():
    rendered = render_markdown("## Key policies\n\ntext\n\n### Grants\n\nmore", with_toc=True)
    assert '<h2 id="key-policies">' in rendered.html
    assert 'class="headerlink" href="#key-policies"' in rendered.html
    assert 'href="#grants"' in rendered.toc_html
    assert [h["id"] for h in rendered.headings] == ["key-policies", "grants"]


def test_safe_links_keep_rel_noopener():
    html = render_inline("[AWS docs](https://docs.aws.amazon.com/kms/)")
    assert 'href="https://docs.aws.amazon.com/kms/"' in html
    assert "noopener" in html
