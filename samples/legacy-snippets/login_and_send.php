<?php
// A legacy backend in PHP 7.4+ (no extensions beyond the defaults): sign a login JWT, trade it for an
// ImFunctions token (loginWithJWT), then send the user a system message with a signed server-to-server call.
// Settings from the environment: IMF_URL, IMF_JWT_SECRET, IMF_OPENID, IMF_KEY_ID, IMF_KEY.
$url = rtrim(getenv('IMF_URL'), '/');

function b64url(string $data): string { return rtrim(strtr(base64_encode($data), '+/', '-_'), '='); }

function login_jwt(string $secret, string $openid): string {
    $header = b64url(json_encode(['alg' => 'HS256', 'typ' => 'JWT']));
    // uni-im signs exp in milliseconds (Date.now() + 60000).
    $payload = b64url(json_encode(['exp' => (int)(microtime(true) * 1000) + 60000,
        'userInfo' => ['openid' => $openid, 'nickname' => 'PHP User']]));
    return "$header.$payload." . b64url(hash_hmac('sha256', "$header.$payload", $secret, true));
}

function post(string $method, string $body, array $headers = []): array {
    global $url;
    $context = stream_context_create(['http' => ['method' => 'POST', 'ignore_errors' => true,
        'header' => implode("\r\n", array_merge(['Content-Type: application/json'], $headers)), 'content' => $body]]);
    $reply = file_get_contents("$url/api/$method", false, $context);
    if (strpos($http_response_header[0], ' 200 ') === false) { fwrite(STDERR, "$method: {$http_response_header[0]} $reply\n"); exit(1); }
    return json_decode($reply, true);
}

function signed_post(string $method, array $params, string $act_as = ''): array {
    $body = json_encode($params);               // sign exactly the bytes you send
    $timestamp = (string)(int)(microtime(true) * 1000);
    $nonce = bin2hex(random_bytes(16));
    $canonical = implode("\n", ['POST', "/api/$method", $timestamp, $nonce, $act_as, hash('sha256', $body)]);
    return post($method, $body, ['X-ImF-Key-Id: ' . getenv('IMF_KEY_ID'), "X-ImF-Timestamp: $timestamp",
        "X-ImF-Nonce: $nonce", "X-ImF-Act-As: $act_as", 'X-ImF-Signature: ' . hash_hmac('sha256', $canonical, getenv('IMF_KEY'))]);
}

$uid = post('loginWithJWT', json_encode(['signedData' => login_jwt(getenv('IMF_JWT_SECRET'), getenv('IMF_OPENID'))]))['data']['uid'];
$sent = signed_post('sendSystemMsg', ['to_uid' => $uid, 'body' => 'hello from php', 'action' => 'notice']);
echo json_encode(['uid' => $uid, 'sent' => $sent['data']]), "\n";
