-- Hardware tokens imported from their vendor's PSKC file (RFC 6030) and not
-- yet handed to anyone: each has a Latchkey serial (10 digits, Luhn) given
-- at import and keeps the vendor's serial (`DeviceInfo/SerialNo`, else the
-- key id) printed on the device, by which it is found. `token assign`
-- moves a row into `tokens`, with the same serial, so the seed sealed
-- under that serial opens the same way.
CREATE TABLE token_stock (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    serial TEXT NOT NULL UNIQUE,
    vendor_serial TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    digits INTEGER NOT NULL,
    period INTEGER NOT NULL,
    sealed_seed BLOB NOT NULL,
    last_used INTEGER NOT NULL DEFAULT -1,
    drift INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
