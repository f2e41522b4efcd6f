#!/usr/bin/env python3
# A legacy backend in Python (standard library only): sign a login JWT, trade it for an ImFunctions token
# (loginWithJWT), then send the user a system message with a signed server-to-server call.
# Settings from the environment: IMF_URL, IMF_JWT_SECRET, IMF_OPENID, IMF_KEY_ID, IMF_KEY.
import base64, hashlib, hmac, json, os, time, urllib.request, uuid

url, jwt_secret, openid = os.environ["IMF_URL"].rstrip("/"), os.environ["IMF_JWT_SECRET"], os.environ["IMF_OPENID"]
key_id, key = os.environ["IMF_KEY_ID"], os.environ["IMF_KEY"]

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

def login_jwt(openid: str) -> str:
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64url(json.dumps({"exp": int(time.time() * 1000) + 60_000,  # uni-im signs exp in milliseconds
                                 "userInfo": {"openid": openid, "nickname": "Py User"}}).encode())
    signature = hmac.new(jwt_secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"

def post(method: str, body: dict, headers: dict = None) -> dict:
    raw = json.dumps(body).encode()
    request = urllib.request.Request(f"{url}/api/{method}", data=raw, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())

def signed_post(method: str, body: dict, act_as: str = "") -> dict:
    raw = json.dumps(body).encode()          # sign exactly the bytes you send
    timestamp, nonce = str(int(time.time() * 1000)), uuid.uuid4().hex
    canonical = "\n".join(["POST", f"/api/{method}", timestamp, nonce, act_as, hashlib.sha256(raw).hexdigest()])
    signature = hmac.new(key.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    request = urllib.request.Request(f"{url}/api/{method}", data=raw, method="POST", headers={
        "Content-Type": "application/json", "X-ImF-Key-Id": key_id, "X-ImF-Timestamp": timestamp,
        "X-ImF-Nonce": nonce, "X-ImF-Act-As": act_as, "X-ImF-Signature": signature})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())

uid = post("loginWithJWT", {"signedData": login_jwt(openid)})["data"]["uid"]
sent = signed_post("sendSystemMsg", {"to_uid": uid, "body": "hello from python", "action": "notice"})
print(json.dumps({"uid": uid, "sent": sent["data"]}))
