// Known answers, copied from the published tables.

// RFC 4226 Appendix D: key "12345678901234567890", 6 digits, HMAC-SHA-1.
export const HOTP = [
  ["rfc4226-D-0", 0, "755224"],
  ["rfc4226-D-1", 1, "287082"],
  ["rfc4226-D-2", 2, "359152"],
  ["rfc4226-D-3", 3, "969429"],
  ["rfc4226-D-4", 4, "338314"],
  ["rfc4226-D-5", 5, "254676"],
  ["rfc4226-D-6", 6, "287922"],
  ["rfc4226-D-7", 7, "162583"],
  ["rfc4226-D-8", 8, "399871"],
  ["rfc4226-D-9", 9, "520489"],
];

// RFC 6238 Appendix B, 8 digits, 30 s steps; the keys of its Appendix A code
// ("1234567890" repeated to 20, 32 and 64 bytes for SHA-1, SHA-256, SHA-512).
export const TOTP = [
  ["rfc6238-B-SHA1-59", "SHA1", 20, 59, "94287082"],
  ["rfc6238-B-SHA256-59", "SHA256", 32, 59, "46119246"],
  ["rfc6238-B-SHA512-59", "SHA512", 64, 59, "90693936"],
  ["rfc6238-B-SHA1-1111111109", "SHA1", 20, 1111111109, "07081804"],
  ["rfc6238-B-SHA256-1111111109", "SHA256", 32, 1111111109, "68084774"],
  ["rfc6238-B-SHA512-1111111109", "SHA512", 64, 1111111109, "25091201"],
  ["rfc6238-B-SHA1-1111111111", "SHA1", 20, 1111111111, "14050471"],
  ["rfc6238-B-SHA256-1111111111", "SHA256", 32, 1111111111, "67062674"],
  ["rfc6238-B-SHA512-1111111111", "SHA512", 64, 1111111111, "99943326"],
  ["rfc6238-B-SHA1-1234567890", "SHA1", 20, 1234567890, "89005924"],
  ["rfc6238-B-SHA256-1234567890", "SHA256", 32, 1234567890, "91819424"],
  ["rfc6238-B-SHA512-1234567890", "SHA512", 64, 1234567890, "93441116"],
  ["rfc6238-B-SHA1-2000000000", "SHA1", 20, 2000000000, "69279037"],
  ["rfc6238-B-SHA256-2000000000", "SHA256", 32, 2000000000, "90698825"],
  ["rfc6238-B-SHA512-2000000000", "SHA512", 64, 2000000000, "38618901"],
  ["rfc6238-B-SHA1-20000000000", "SHA1", 20, 20000000000, "65353130"],
  ["rfc6238-B-SHA256-20000000000", "SHA256", 32, 20000000000, "77737706"],
  ["rfc6238-B-SHA512-20000000000", "SHA512", 64, 20000000000, "47863826"],
];

// DESIGN.md, "Unlock code derivation" (crates/oath/tests/data/unlock-code.json).
export const UNLOCK = [
  ["unlock-0", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "1234567897", "123456789015", "3784343637696048"],
  ["unlock-1", "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "0000000018", "999999999991", "1121448620911605"],
  ["unlock-2", "0bd9975017ca9c51630d28f74a1b7ac12cd9021b7be10379fbc81d0bdf00fb95", "9093905769", "399008265916", "0556056632749149"],
  ["unlock-3", "ca8e8f8d06188ba9456e09e7a3fc5cd96bed72659b3ed7816a035bb4727b12ea", "5899524051", "786852359649", "1202242233656455"],
  ["unlock-4", "594189cc53dbf4c63b431b87c79cefae83919d9788e59ba4db460e154347e9ae", "7244625690", "667962092348", "0936851725847417"],
  ["unlock-5", "01e37101f7fdde46e208c712b8ee753c81776f037cc45deb4875c9ce1460c68b", "7271890019", "014891869167", "2953576752655227"],
  ["unlock-6", "48a5aaa8190dfad6a0c2b863b770fe6c0478f3f1462125247bdb7c0e92333cb3", "2708719972", "364792030157", "3316406108583545"],
  ["unlock-7", "5c9e68bda5953916f5e89071edad84c49502cda2bb17c2db3400c3fa33a3895e", "3585422748", "725287480125", "1311700856054918"],
  ["unlock-8", "630fdce80c6c5db7dd598302d3eb425ded840ec260a3b28c73f69330498374cd", "2000794905", "435345275471", "0191795458763566"],
  ["unlock-9", "c616fc33b95fc829854542fe7e329d8358766e43eda81e9f936aca8e78ddcd74", "9009650509", "363598530188", "2353075964285341"],
];
// Tagged PIN Reset Codes (crates/oath/src/unlock.rs, TAGGED): 8 random
// digits, generation mod 1000, the check digit.
export const RESET_TAG = [
  ["reset-tag-0", "12345678", 0, "123456780006"],
  ["reset-tag-1", "12345678", 1, "123456780014"],
  ["reset-tag-2", "00000000", 999, "000000009993"],
  ["reset-tag-3", "98765432", 1000, "987654320009"],
  ["reset-tag-4", "31415926", 42, "314159260426"],
];
export const LUHN_VALID = ["79927398713", "1234567897", "123456789015", "3784343637696048"];
export const LUHN_INVALID = ["79927398714", "1234567890", "123456789016"];

// PBKDF2-HMAC-SHA-256: RFC 7914 §11, and the RFC 6070-style values for
// SHA-256 published with it (password, salt, iterations, length, hex).
export const PBKDF2 = [
  ["rfc7914-11-1", "passwd", "salt", 1, 64,
    "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"],
  ["rfc7914-11-2", "Password", "NaCl", 80000, 64,
    "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"],
  ["rfc6070-sha256-1", "password", "salt", 1, 32, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"],
  ["rfc6070-sha256-2", "password", "salt", 2, 32, "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"],
  ["rfc6070-sha256-4096", "password", "salt", 4096, 32, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"],
  ["rfc6070-sha256-long", "passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 40,
    "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9"],
];
