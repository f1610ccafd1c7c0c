import pytest

from conftest import CORPUS
from qa.loaders import Skipped, iter_articles

STORY = """<!DOCTYPE lewis SYSTEM "lewis.dtd">
<REUTERS TOPICS="YES" NEWID="7">
<DATE>26-FEB-1987 15:01:01.79</DATE>
<TEXT>&#2;
<TITLE>BAHIA COCOA REVIEW</TITLE>
<DATELINE>    SALVADOR, Feb 26 - </DATELINE><BODY>Showers continued throughout the week in
the Bahia cocoa zone &amp; beyond.
&\\tArrivals were 155,221 bags.
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
<REUTERS TOPICS="NO" NEWID="8">
<DATE>26-FEB-1987 16:34:34.40</DATE>
<TEXT TYPE="UNPROC">&#2;
FEDERAL RESERVE WEEKLY REPORT
 Net free reserves.......644 vs.....1,337
</TEXT>
</REUTERS>
<REUTERS NEWID="9"><DATE>26-FEB-1987</DATE><TEXT><TITLE>U.S. BANK RATE CUT</TITLE></TEXT></REUTERS>
"""


def test_sgml_stories_become_articles_with_title_date_place_and_outlet(tmp_path):
    path = tmp_path / "reut2-000.sgm"
    path.write_text(STORY)
    cocoa, fed, headline = list(iter_articles([path]))
    assert cocoa.source == "reut2-000.sgm#7"
    assert (cocoa.title, cocoa.date) == ("Bahia Cocoa Review", "1987-02-26")
    assert (cocoa.place, cocoa.outlet) == ("Salvador", "Reuters")
    assert (
        cocoa.text
        == "Showers continued throughout the week in the Bahia cocoa zone & beyond.\n\nArrivals were 155,221 bags."
    )
    assert fed.title == "Federal Reserve Weekly Report" and "644 vs" in fed.text
    assert headline.text == headline.title == "U.S. Bank Rate Cut"


def test_file_without_stories_is_skipped(tmp_path):
    path = tmp_path / "empty.sgm"
    path.write_text("<!DOCTYPE lewis>\n")
    assert list(iter_articles([path])) == [Skipped("empty.sgm", "no <REUTERS> stories in the file")]


def test_real_reuters_file_yields_its_thousand_stories():
    path = CORPUS / "reuters21578" / "reut2-000.sgm"
    if not path.exists():
        pytest.skip("Reuters-21578 is not in ../shared/corpus")
    articles = [a for a in iter_articles([path]) if not isinstance(a, Skipped)]
    assert len(articles) == 1000
    assert all(a.date.startswith("1987-") and a.outlet == "Reuters" for a in articles)
