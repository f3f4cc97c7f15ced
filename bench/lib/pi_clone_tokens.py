"""Seeds privacyIDEA with many TOTP tokens fast (run with the privacyIDEA
virtualenv's python): its own import API takes about a quarter of a second
per token here, so the benchmark imports a few through the API and this
script writes the rest as copies of one of those: the same token,
tokeninfo, owner and realm rows privacyIDEA wrote, with each token's own
serial, owner and seed, the seed encrypted by privacyIDEA's own function
under the instance's key.

usage: python pi_clone_tokens.py CONFIG DATABASE TEMPLATE_SERIAL FIRST COUNT
"""
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from otp import seed, username  # noqa: E402

config, database, template_serial, first, count = sys.argv[1:6]
first, count = int(first), int(count)
os.environ["PRIVACYIDEA_CONFIGFILE"] = config
from privacyidea.app import create_app  # noqa: E402

app = create_app(config_name="production", config_file=config, silent=True)
with app.app_context():
    from privacyidea.lib.crypto import decrypt, encrypt, geturandom

    db = sqlite3.connect(database)
    columns = [r[1] for r in db.execute("PRAGMA table_info(token)") if r[1] != "id"]
    template = dict(zip(columns, db.execute(
        f"SELECT {', '.join(columns)} FROM token WHERE serial = ?", (template_serial,)).fetchone()))
    (template_id,) = db.execute("SELECT id FROM token WHERE serial = ?",
                                (template_serial,)).fetchone()
    template_index = int(template_serial[len("BENCH"):])
    # The copies are right only if this is how privacyIDEA sealed the template's seed.
    opened = decrypt(bytes.fromhex(template["key_enc"]), bytes.fromhex(template["key_iv"]))
    assert opened in (seed(template_index).hex(), seed(template_index).hex().encode()), \
        "privacyIDEA's seed encryption is not what this script expects"
    info = db.execute("SELECT Key, Value, Type, Description FROM tokeninfo WHERE token_id = ?",
                      (template_id,)).fetchall()
    owner = db.execute("SELECT resolver, realm_id FROM tokenowner WHERE token_id = ?",
                       (template_id,)).fetchone()
    realms = [r[0] for r in db.execute("SELECT realm_id FROM tokenrealm WHERE token_id = ?",
                                       (template_id,))]
    insert = (f"INSERT INTO token ({', '.join(columns)}) "
              f"VALUES ({', '.join('?' for _ in columns)})")
    with db:
        for i in range(first, first + count):
            iv = geturandom(16)
            row = dict(template, serial="BENCH%07d" % i, key_enc=encrypt(seed(i).hex(), iv),
                       key_iv=iv.hex(), count=0, failcount=0)
            token_id = db.execute(insert, [row[c] for c in columns]).lastrowid
            db.executemany("INSERT INTO tokeninfo (Key, Value, Type, Description, token_id) "
                           "VALUES (?, ?, ?, ?, ?)", [(*r, token_id) for r in info])
            db.execute("INSERT INTO tokenowner (token_id, resolver, user_id, realm_id) "
                       "VALUES (?, ?, ?, ?)", (token_id, owner[0], str(20000 + i), owner[1]))
            db.executemany("INSERT INTO tokenrealm (token_id, realm_id) VALUES (?, ?)",
                           [(token_id, r) for r in realms])
    print(f"cloned {count} tokens from {template_serial} ({username(first)}..)")
