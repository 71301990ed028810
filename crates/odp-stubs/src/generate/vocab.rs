//! Names shared by the text generators and the entity extractor, so that extracted entities get their types.

pub const FIRST_NAMES: &[&str] = &[
    "Maria", "James", "Priya", "Lukas", "Sofia", "Kenji", "Amara", "Noah", "Elena", "Omar",
    "Chloe", "Mateo",
];
pub const LAST_NAMES: &[&str] = &[
    "Garcia", "Chen", "Patel", "Weber", "Rossi", "Tanaka", "Okafor", "Williams", "Novak", "Haddad",
    "Martin", "Silva",
];
pub const ORGS: &[&str] = &[
    "Mozilla",
    "OpenAI",
    "NASA",
    "Reuters",
    "Siemens",
    "Toyota",
    "Microsoft",
    "Google",
    "Apple",
    "European Commission",
    "Amazon",
    "Samsung",
];
pub const PLACES: &[&str] = &[
    "Berlin",
    "Tokyo",
    "London",
    "Nairobi",
    "Toronto",
    "Paris",
    "Singapore",
    "Madrid",
    "New York",
    "Sydney",
    "Mumbai",
    "Lisbon",
];
pub const MONTHS: &[&str] = &[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
