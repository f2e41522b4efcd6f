// A legacy backend in Java 11+ (JDK only; run with `java LoginAndSend.java`): sign a login JWT, trade it for an
// ImFunctions token (loginWithJWT), then send the user a system message with a signed server-to-server call.
// Settings from the environment: IMF_URL, IMF_JWT_SECRET, IMF_OPENID, IMF_KEY_ID, IMF_KEY.
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.HexFormat;
import java.util.UUID;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class LoginAndSend {
    static final String URL = System.getenv("IMF_URL").replaceAll("/$", "");
    static final HttpClient HTTP = HttpClient.newHttpClient();

    static byte[] hmac(String key, String data) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
    }

    static String b64url(byte[] bytes) { return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes); }

    static String loginJwt(String secret, String openid) throws Exception {
        String header = b64url("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));
        // uni-im signs exp in milliseconds (Date.now() + 60000). Use a JSON library for real user data.
        String payload = b64url(("{\"exp\":" + (System.currentTimeMillis() + 60000)
            + ",\"userInfo\":{\"openid\":\"" + openid + "\",\"nickname\":\"Java User\"}}").getBytes(StandardCharsets.UTF_8));
        return header + "." + payload + "." + b64url(hmac(secret, header + "." + payload));
    }

    static String post(String method, String body, String... headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(URL + "/api/" + method))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        for (int i = 0; i < headers.length; i += 2) request.header(headers[i], headers[i + 1]);
        HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) throw new RuntimeException(method + ": " + response.statusCode() + " " + response.body());
        return response.body();
    }

    static String signedPost(String method, String body, String actAs) throws Exception {
        String timestamp = Long.toString(System.currentTimeMillis());
        String nonce = UUID.randomUUID().toString();
        // Sign exactly the bytes you send.
        String bodyHash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body.getBytes(StandardCharsets.UTF_8)));
        String canonical = String.join("\n", "POST", "/api/" + method, timestamp, nonce, actAs, bodyHash);
        String signature = HexFormat.of().formatHex(hmac(System.getenv("IMF_KEY"), canonical));
        return post(method, body, "X-ImF-Key-Id", System.getenv("IMF_KEY_ID"), "X-ImF-Timestamp", timestamp,
            "X-ImF-Nonce", nonce, "X-ImF-Act-As", actAs, "X-ImF-Signature", signature);
    }

    public static void main(String[] args) throws Exception {
        String login = post("loginWithJWT", "{\"signedData\":\"" + loginJwt(System.getenv("IMF_JWT_SECRET"), System.getenv("IMF_OPENID")) + "\"}");
        var uid = Pattern.compile("\"uid\":\"([0-9a-f]+)\"").matcher(login);
        if (!uid.find()) throw new RuntimeException("no uid in " + login);
        String sent = signedPost("sendSystemMsg", "{\"to_uid\":\"" + uid.group(1) + "\",\"body\":\"hello from java\",\"action\":\"notice\"}", "");
        // The envelope is {"errCode":0,"errMsg":"","data":{...}}: keep data (use a JSON library in real code).
        String data = sent.substring(sent.indexOf("\"data\":") + 7, sent.lastIndexOf('}'));
        System.out.println("{\"uid\":\"" + uid.group(1) + "\",\"sent\":" + data + "}");
    }
}
