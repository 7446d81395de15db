from dataclasses import replace

from pipeline.config import DedupConfig
from pipeline.dedup.verify import fingerprint, verify, words_and_paragraphs
from pipeline.ingest.normalize import normalize
from tests.support import synth

CONFIG = DedupConfig()


def fp(article):
    return fingerprint(article, CONFIG.shingle_words)


def test_same_event_articles_sharing_quotes_are_not_duplicates(seed_stories):
    a, b, c = (fp(x) for x in normalize(seed_stories[:3]))
    for x, y in ((a, b), (a, c), (b, c)):
        scores, rule = verify(x, y, CONFIG)
        assert rule is None and scores.containment < 0.25 and scores.char_containment < 0.35
        assert scores.paragraph_containment < 0.35


def test_paragraphs_drop_short_lines():
    text = "Top story\nLONDON (AFP) -\n" + "One two three four five six seven eight nine ten eleven twelve.\nAdvertisement"
    text_words, body = words_and_paragraphs(text, 12)
    assert body == "one two three four five six seven eight nine ten eleven twelve."
    assert text_words[:5] == ["top", "story", "london", "afp", "one"] and len(text_words) == 17
    assert words_and_paragraphs(text, 13)[1] == ""


def test_a_text_of_short_lines_has_no_paragraph_to_match(seed_stories):
    headlines = "\n".join(" ".join(s.split()[:8]) for s in synth.SENTENCE_END.split(seed_stories[3].body)[:10])
    a, b = normalize([seed_stories[3], replace(seed_stories[3], source_id="headlines", body=headlines)])
    assert fp(b).paragraph_grams.size == 0
    assert verify(fp(a), fp(b), CONFIG)[0].paragraph_containment == 0.0
