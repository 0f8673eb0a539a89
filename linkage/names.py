"""Common English nicknames and their formal names, so that BILL and WILLIAM can agree.

Used by standardisation (a canonical given name per record) and by the test-data generator.
"""

from __future__ import annotations

NICKNAMES: dict[str, list[str]] = {
    "ABIGAIL": ["ABBY", "ABBIE", "GAIL"],
    "ALEXANDER": ["ALEX", "SANDY", "ALEC", "XANDER"],
    "ALEXANDRA": ["ALEX", "LEXI", "SANDRA", "ALLY"],
    "ALFRED": ["ALF", "ALFIE", "FRED"],
    "AMELIA": ["MILLIE", "MILLY", "AMY", "MIA"],
    "ANDREW": ["ANDY", "DREW"],
    "ANTHONY": ["TONY", "ANT"],
    "ARCHIBALD": ["ARCHIE", "ARCHY"],
    "BARBARA": ["BARB", "BABS"],
    "BENJAMIN": ["BEN", "BENNY", "BENJI"],
    "CAMERON": ["CAM"],
    "CATHERINE": ["CATH", "CATHY", "KATE", "KATIE", "KAT"],
    "CHARLES": ["CHARLIE", "CHAS", "CHUCK"],
    "CHARLOTTE": ["LOTTIE", "LOTTY", "CHARLIE", "LOTTE"],
    "CHRISTINE": ["CHRIS", "CHRISSIE", "TINA"],
    "CHRISTOPHER": ["CHRIS", "KIT"],
    "DANIEL": ["DAN", "DANNY"],
    "DAVID": ["DAVE", "DAVY"],
    "DEBORAH": ["DEBBIE", "DEB", "DEBS"],
    "DONALD": ["DON", "DONNY"],
    "DOROTHY": ["DOT", "DOTTIE", "DOLLY"],
    "DOUGLAS": ["DOUG"],
    "EDWARD": ["ED", "TED", "EDDIE", "NED", "TEDDY"],
    "ELEANOR": ["ELLIE", "NELL", "NELLIE", "ELLA"],
    "ELIZABETH": ["LIZ", "BETH", "LIZZIE", "LIZZY", "BETTY", "ELSIE", "ELIZA", "LIBBY"],
    "EMILY": ["EMMY", "EM", "MILLIE"],
    "EVELYN": ["EVIE", "EVE"],
    "FLORENCE": ["FLO", "FLOSSIE", "FLORRIE"],
    "FREDERICK": ["FRED", "FREDDIE", "FREDDY"],
    "GABRIEL": ["GABE"],
    "GEORGINA": ["GEORGIE", "GINA"],
    "GREGORY": ["GREG"],
    "HARRIET": ["HATTIE", "HARRIE"],
    "HENRY": ["HARRY", "HAL", "HANK"],
    "ISABELLA": ["IZZY", "ISSY", "BELLA", "IZZIE"],
    "ISABELLE": ["IZZY", "ISSY", "BELLE"],
    "JACOB": ["JAKE"],
    "JACQUELINE": ["JACKIE", "JACQUI"],
    "JAMES": ["JIM", "JIMMY", "JAMIE", "JIMMIE"],
    "JENNIFER": ["JENNY", "JEN", "JENNI"],
    "JESSICA": ["JESS", "JESSIE"],
    "JOHN": ["JACK", "JOHNNY", "JON"],
    "JONATHAN": ["JON", "JONNY", "JONNIE"],
    "JOSEPH": ["JOE", "JOEY"],
    "JOSHUA": ["JOSH"],
    "KATHERINE": ["KATE", "KATHY", "KATIE", "KAT", "KITTY"],
    "KENNETH": ["KEN", "KENNY"],
    "KIMBERLY": ["KIM"],
    "LEONARD": ["LEN", "LENNY", "LEO"],
    "MARGARET": ["MAGGIE", "PEGGY", "MEG", "MAISIE", "MADGE"],
    "MATILDA": ["TILLY", "TILLIE", "MATTIE"],
    "MATTHEW": ["MATT", "MATTY"],
    "MICHAEL": ["MIKE", "MICK", "MICKY", "MIKEY"],
    "NATHANIEL": ["NATE", "NAT", "NATHAN"],
    "NICHOLAS": ["NICK", "NICKY"],
    "NICOLA": ["NICKY", "NIKKI"],
    "OLIVER": ["OLLIE", "OLLY"],
    "OLIVIA": ["LIV", "LIVVY", "LIVVIE", "OLLIE"],
    "PAMELA": ["PAM"],
    "PATRICIA": ["PAT", "TRISH", "PATSY", "TRICIA"],
    "PATRICK": ["PAT", "PADDY"],
    "PENELOPE": ["PENNY", "POPPY"],
    "PETER": ["PETE"],
    "PHILIP": ["PHIL", "PIP"],
    "RAYMOND": ["RAY"],
    "REBECCA": ["BECKY", "BECCA", "BECS"],
    "RICHARD": ["RICH", "DICK", "RICKY", "RICHIE", "RICK"],
    "ROBERT": ["BOB", "ROB", "BOBBY", "ROBBIE", "BERT"],
    "RONALD": ["RON", "RONNIE"],
    "ROSEMARY": ["ROSIE", "ROSE"],
    "SAMANTHA": ["SAM", "SAMMY"],
    "SAMUEL": ["SAM", "SAMMY"],
    "SOPHIA": ["SOPHIE", "SOPH"],
    "STEPHEN": ["STEVE", "STEVIE"],
    "SUSAN": ["SUE", "SUSIE", "SUZY"],
    "THEODORE": ["THEO", "TEDDY", "TED"],
    "THOMAS": ["TOM", "TOMMY"],
    "TIMOTHY": ["TIM", "TIMMY"],
    "VICTORIA": ["VICKY", "TORI", "VIKKI"],
    "WILLIAM": ["BILL", "WILL", "BILLY", "LIAM", "WILLIE", "WILLS"],
    "ZACHARY": ["ZACH", "ZAC", "ZACK"],
}

# A nickname shared by two formal names (KATE, SAM) maps to the first listed: a rare miss,
# and the string levels still compare the names as written.
CANONICAL: dict[str, str] = {}
for _formal, _nicks in NICKNAMES.items():
    CANONICAL.setdefault(_formal, _formal)
    for _nick in _nicks:
        CANONICAL.setdefault(_nick, _formal)


def canonical_given_name(name: str | None) -> str | None:
    if not name:
        return None
    return CANONICAL.get(name, name)
