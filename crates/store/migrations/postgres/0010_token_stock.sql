-- Hardware tokens imported from their vendor's PSKC file (RFC 6030) and not
-- yet handed to anyone: each has a Latchkey serial (10 digits, Luhn) given
-- at import and keeps the vendor's serial (`DeviceInfo/SerialNo`, else the
-- key id) printed on the device, by which it is found. `token assign`
-- moves a row into `tokens`, with the same serial, so the seed sealed
-- under that serial opens the same way.
CREATE TABLE token_stock (
    id BIGSERIAL PRIMARY KEY,
    serial TEXT NOT NULL UNIQUE,
    vendor_serial TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    digits BIGINT NOT NULL,
    period BIGINT NOT NULL,
    sealed_seed BYTEA NOT NULL,
    last_used BIGINT NOT NULL DEFAULT -1,
    drift BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
