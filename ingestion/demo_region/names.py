"""Names for the simulated residents, streets and businesses; nicknames for identity noise.

Lists are ordered by rough popularity: the population draws from them with falling weights,
so common names collide often, as they do in real records.
"""

from __future__ import annotations


def _words(text: str) -> list[str]:
    return text.split()


MALE = _words(
    "Oliver George Harry Jack Jacob Noah Charlie Muhammad Thomas Oscar William James Leo Alfie "
    "Henry Joshua Freddie Archie Ethan Isaac Alexander Joseph Edward Samuel Max Daniel Arthur "
    "Lucas Mohammed Logan Theo Harrison Benjamin Mason Sebastian Finley Adam Dylan Zachary Riley "
    "Teddy Theodore David Elijah Jake Toby Louie Reuben Arlo Hugo Luca Jaxon Matthew Harvey "
    "Reggie Michael Harley Jude Albert Tommy Luke Stanley Jenson Frankie Jayden Gabriel Elliot "
    "Mohammad Ronnie Charles Louis Elliott Frederick Nathan Lewis Blake Rory Ollie Ryan Tyler "
    "Jackson Dexter Ezra Kai Aaron Robert Christopher Andrew Richard Anthony Stephen Paul Mark "
    "Peter John Kevin Gary Steven Ian Simon Neil Darren Craig Wayne Lee Dean Carl Graham Keith "
    "Alan Brian Colin Derek Roger Trevor Kenneth Dennis Raymond Ahmed Ali Hassan Omar Tariq "
    "Imran Bilal Kwame Kofi Tomasz Piotr Andrzej Marek Florin Ionut"
)

FEMALE = _words(
    "Olivia Amelia Isla Ava Emily Sophia Grace Mia Poppy Ella Lily Evie Isabella Sophie Ivy "
    "Freya Harper Willow Charlotte Jessica Rosie Daisy Alice Florence Isabelle Phoebe Evelyn "
    "Sienna Sofia Matilda Elsie Ruby Millie Lucy Eva Emilia Maya Layla Esme Elizabeth Scarlett "
    "Chloe Hannah Imogen Erin Zara Aria Ellie Lola Holly Eliza Margaret Katherine Rebecca Sarah "
    "Laura Emma Rachel Claire Nicola Helen Joanne Lisa Michelle Karen Julie Tracey Donna Kelly "
    "Samantha Louise Victoria Natalie Gemma Amy Jennifer Susan Patricia Linda Barbara Dorothy "
    "Joan Jean Sheila Brenda Pauline Carol Christine Janet Ann Mary Deborah Angela Wendy Alison "
    "Fatima Aisha Maryam Zainab Amina Khadija Nadia Yasmin Priya Anjali Agnieszka Katarzyna "
    "Magdalena Ioana Andreea Abena Ama Chidinma Precious Kayleigh Jade Shannon Courtney Chelsea"
)

FAMILY = _words(
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
    "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson "
    "Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen "
    "James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook "
    "Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson "
    "Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali "
    "Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell "
    "Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur "
    "Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks "
    "West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Rose "
    "Booth Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster "
    "Hunter Gregory Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland "
    "Hawkins Harding Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Shah "
    "Dean Lane Cooke Bates Henderson Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross "
    "Cross Long Freeman Warren Nicholls Hamilton Byrne Sutton McDonald Yates Hodgson Robson "
    "Curtis Hopkins O'Connor Harper Coleman Watkins Moss McCarthy Chambers O'Neill Griffin "
    "Sharp Hardy Wheeler Potter Osborne Johnston Gordon Doyle Wallace George Jordan Hutchinson "
    "Rahman Akhtar Iqbal Mahmood Nowak Kowalski Wisniewski Popescu Mensah Okafor Adeyemi Nguyen"
)

# Nicknames and short forms that clerks and patients use in place of the legal given name.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy"),
    "Robert": ("Bob", "Rob", "Bobby"),
    "Richard": ("Rick", "Dick", "Richie"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "Thomas": ("Tom", "Tommy"),
    "Michael": ("Mike", "Mick"),
    "Christopher": ("Chris",),
    "Alexander": ("Alex", "Sandy"),
    "Benjamin": ("Ben",),
    "Daniel": ("Dan", "Danny"),
    "Joseph": ("Joe", "Joey"),
    "Samuel": ("Sam",),
    "Matthew": ("Matt",),
    "Anthony": ("Tony",),
    "Andrew": ("Andy", "Drew"),
    "Stephen": ("Steve",),
    "Steven": ("Steve",),
    "Edward": ("Ed", "Eddie", "Ted"),
    "Frederick": ("Fred", "Freddie"),
    "Nathan": ("Nate",),
    "Zachary": ("Zach",),
    "Kenneth": ("Ken", "Kenny"),
    "Raymond": ("Ray",),
    "Charles": ("Charlie", "Chuck"),
    "Theodore": ("Theo", "Teddy"),
    "Elizabeth": ("Liz", "Beth", "Lizzie", "Betty"),
    "Katherine": ("Kate", "Kathy", "Katie"),
    "Margaret": ("Maggie", "Peggy", "Meg"),
    "Jennifer": ("Jen", "Jenny"),
    "Rebecca": ("Becky", "Becca"),
    "Samantha": ("Sam", "Sammy"),
    "Victoria": ("Vicky", "Tori"),
    "Patricia": ("Pat", "Trish"),
    "Susan": ("Sue", "Susie"),
    "Deborah": ("Debbie", "Deb"),
    "Christine": ("Chris", "Chrissie"),
    "Isabella": ("Bella", "Izzy"),
    "Isabelle": ("Izzy",),
    "Charlotte": ("Lottie", "Charlie"),
    "Jessica": ("Jess",),
    "Natalie": ("Nat",),
    "Nicola": ("Nicky",),
    "Alexandra": ("Alex",),
    "Florence": ("Flo",),
    "Matilda": ("Tilly",),
    "Eleanor": ("Ellie",),
    "Pauline": ("Pauly",),
    "Sophia": ("Sophie",),
    "Amelia": ("Millie",),
    "Dorothy": ("Dot", "Dotty"),
}

STREET_ROOTS = _words(
    "Mill Church Station Park Victoria Albert Queen King Manor Chapel School Mount Grove "
    "Highfield Springfield Orchard Meadow Willow Oak Ash Beech Elm Cedar Hawthorn Rowan Birch "
    "Holly Ivy Heather Primrose Clarence Windsor York Lancaster Stanley Derby Granville "
    "Wellington Nelson Trafalgar Waterloo Brunswick Cambridge Oxford Bridge Canal Market Castle "
    "Abbey Priory Hall Farm Green Croft Brook River Wharf Foundry Forge Weaver Cotton Spinner "
    "Carlton Belmont Fairfield Hollins Moorside Whitworth Ashton Kingsway Broadway Lindley "
    "Tennyson Byron Shelley Milton Chaucer Dickens Bronte Ruskin Gladstone Peel Cobden Ribble"
)

STREET_KINDS = (
    "Road",
    "Street",
    "Lane",
    "Avenue",
    "Close",
    "Drive",
    "Way",
    "Grove",
    "Terrace",
    "Crescent",
    "Place",
    "Gardens",
    "Court",
    "View",
    "Walk",
)

# How some bodies abbreviate street kinds in the addresses they hold.
STREET_ABBREVIATIONS = {
    "Road": "Rd",
    "Street": "St",
    "Lane": "Ln",
    "Avenue": "Ave",
    "Close": "Cl",
    "Drive": "Dr",
    "Crescent": "Cres",
    "Terrace": "Ter",
    "Gardens": "Gdns",
    "Court": "Ct",
    "Place": "Pl",
}

PREMISES_WORDS = (
    "Red Lion",
    "Crown",
    "Royal Oak",
    "White Hart",
    "Plough",
    "Swan",
    "Bell",
    "Anchor",
    "Star",
    "Rose and Crown",
    "Golden Fleece",
    "Black Horse",
    "Kings Arms",
    "Wheatsheaf",
    "Railway",
    "George",
    "Albion",
    "Victoria",
    "Globe",
    "Feathers",
    "Ship",
    "Spice Garden",
    "Golden Dragon",
)

BOOKMAKERS = ("Lucky Stars", "BetLine", "Golden Odds", "Fast Furlong", "Jackpot Corner", "WinWise")
