from pipeline.ingest.normalize import content_hash, make_article_id, normalize_story, normalize_text
from pipeline.records import RawStory


def test_treebank_tokenization_is_undone():
    text = "( CNN ) He did n't say , `` we 're done '' , and it 's $ 3 . 5 million for 5 , 000 people ."
    assert normalize_text(text) == '(CNN) He didn\'t say, "we\'re done", and it\'s $3.5 million for 5,000 people.'


def test_quotes_unicode_and_spaces_are_folded():
    text = "\u201cSanctuary\u201d   cities\u2019 \ufb01nal   word"
    assert normalize_text(text) == "\"Sanctuary\" cities' final word"


def test_boilerplate_lines_are_dropped_but_story_lines_stay():
    text = (
        "IE 11 is not supported. For an optimal experience visit our site on another browser.\n\n"
        "Headline Here\nAdvertisement\nThe story starts here.\n"
    )
    assert normalize_text(text) == "Headline Here\nThe story starts here."
    long_line = "IE 11 is not supported. " + "Real story words follow here. " * 10
    assert normalize_text(long_line).startswith("IE 11 is not supported.")


def test_a_block_of_links_to_other_stories_is_dropped_up_to_the_story_text_after_it():
    text = ("Quake hits island\nThe quake struck at dawn, officials said.\nRelated stories:\n"
            "Aftershocks rattle the coast as rescuers dig\nWhat we know about the fault line\n"
            "Rescuers said on Tuesday that they had reached the last of the villages cut off by the slides.\n"
            "Most read\nIs the island ready for the next one?\nSee also\nA headline with no end")
    assert normalize_text(text) == ("Quake hits island\nThe quake struck at dawn, officials said.\n"
                                    "Rescuers said on Tuesday that they had reached the last of the villages cut off "
                                    "by the slides.\nIs the island ready for the next one?")


def test_original_is_kept_and_ids_are_stable():
    story = RawStory(source_id="s1", body="Hello  world .")
    article = normalize_story(story)
    assert article.original_text == "Hello  world ."
    assert article.text == "Hello world."
    assert article.article_id == normalize_story(story).article_id
    assert article.article_id == make_article_id("s1", content_hash("hello world."))
    assert content_hash("Hello   World.") == content_hash("hello world.")


def test_seed_004_loses_its_browser_banner(seed_stories):
    article = normalize_story(seed_stories[4])
    assert "IE 11" not in article.text
    assert article.text.startswith("Attorney General Sessions Slams Chicago")


def test_a_story_without_a_source_name_is_credited_to_its_urls_host():
    def source(**fields):
        return normalize_story(RawStory(source_id="s1", body="Text.", **fields)).source

    assert source(source="  Associated   Press ", url="https://apnews.com/x") == "Associated Press"
    assert source(url="https://www.latimes.com/2013/may/03/story.html") == "latimes.com"
    assert source(url="http://articles.latimes.com/x") == "articles.latimes.com"
    assert source() == "" and source(url="not a url") == "" and source(url="http://[::1") == ""
