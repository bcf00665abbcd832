"""Heredoc words and contents as buildkit reads them."""

from __future__ import annotations

from mydocker.core import dockerfile


def test_heredoc_words() -> None:
    assert dockerfile.heredoc_word("<<EOF") == dockerfile.HeredocWord("EOF", chomp=False, expand=True)
    assert dockerfile.heredoc_word("<<-EOT") == dockerfile.HeredocWord("EOT", chomp=True, expand=True)
    assert dockerfile.heredoc_word('<<"EOF"') == dockerfile.HeredocWord("EOF", chomp=False, expand=False)
    assert dockerfile.heredoc_word("<<'X'").expand is False  # type: ignore[union-attr]
    for not_alone in ("cat <<EOF", "<<EOF bash", "<EOF", "<<\"EOF'"):
        assert dockerfile.heredoc_word(not_alone) is None


def test_heredoc_content_chomps_and_expands_keeping_quotes() -> None:
    env = {"NAME": "n"}
    word = dockerfile.HeredocWord("EOF", chomp=True, expand=True)
    assert dockerfile.heredoc_content('\t\thi $NAME "q" \'s\' \\$NAME ${MISSING:-d}\n', word, env) == \
        'hi n "q" \'s\' $NAME d\n'
    raw = dockerfile.HeredocWord("EOF", chomp=False, expand=False)
    assert dockerfile.heredoc_content("\tkeep $NAME\n", raw, env) == "\tkeep $NAME\n"


def test_parse_keeps_heredoc_names_in_order() -> None:
    (_, copy) = dockerfile.parse('FROM busybox\nCOPY <<A <<"B" /d/\na\nA\nb\nB\n')
    assert copy.heredocs == [("A", "a\n"), ("B", "b\n")]
