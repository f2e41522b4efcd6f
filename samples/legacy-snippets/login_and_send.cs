#:property PublishAot=false
// A legacy backend in C# (.NET 10 file-based app: `dotnet run login_and_send.cs`): sign a login JWT, trade it for an
// ImFunctions token (loginWithJWT), then send the user a system message with a signed server-to-server call.
// Settings from the environment: IMF_URL, IMF_JWT_SECRET, IMF_OPENID, IMF_KEY_ID, IMF_KEY.
// The JWT is signed by hand here; Microsoft's JWT handlers refuse HS256 keys under 32 bytes, so a .NET backend
// that uses them needs a jwtSecret of 32+ bytes. (PublishAot=false: reflection-based JSON, as most backends use.)
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

var url = Environment.GetEnvironmentVariable("IMF_URL")!.TrimEnd('/');
var env = (string name) => Environment.GetEnvironmentVariable(name)!;
using var http = new HttpClient();

static string B64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

string LoginJwt(string secret, string openid)
{
    var header = B64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg = "HS256", typ = "JWT" }));
    // uni-im signs exp in milliseconds (Date.now() + 60000).
    var payload = B64Url(JsonSerializer.SerializeToUtf8Bytes(new
    {
        exp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 60_000,
        userInfo = new { openid, nickname = "C# User" },
    }));
    return $"{header}.{payload}.{B64Url(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{header}.{payload}")))}";
}

async Task<JsonElement> Post(string method, string body, Dictionary<string, string>? headers = null)
{
    using var request = new HttpRequestMessage(HttpMethod.Post, $"{url}/api/{method}")
    {
        Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
    };
    foreach (var (name, value) in headers ?? []) request.Headers.Add(name, value);
    using var response = await http.SendAsync(request);
    var text = await response.Content.ReadAsStringAsync();
    if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{method}: {(int)response.StatusCode} {text}");
    return JsonDocument.Parse(text).RootElement;
}

Task<JsonElement> SignedPost(string method, object parameters, string actAs = "")
{
    var body = JsonSerializer.Serialize(parameters);   // sign exactly the bytes you send
    var timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString();
    var nonce = Guid.NewGuid().ToString("N");
    var bodyHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)));
    var canonical = $"POST\n/api/{method}\n{timestamp}\n{nonce}\n{actAs}\n{bodyHash}";
    var signature = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(env("IMF_KEY")), Encoding.UTF8.GetBytes(canonical)));
    return Post(method, body, new()
    {
        ["X-ImF-Key-Id"] = env("IMF_KEY_ID"), ["X-ImF-Timestamp"] = timestamp, ["X-ImF-Nonce"] = nonce,
        ["X-ImF-Act-As"] = actAs, ["X-ImF-Signature"] = signature,
    });
}

var login = await Post("loginWithJWT", JsonSerializer.Serialize(new { signedData = LoginJwt(env("IMF_JWT_SECRET"), env("IMF_OPENID")) }));
var uid = login.GetProperty("data").GetProperty("uid").GetString()!;
var sent = await SignedPost("sendSystemMsg", new { to_uid = uid, body = "hello from c#", action = "notice" });
Console.WriteLine(JsonSerializer.Serialize(new { uid, sent = sent.GetProperty("data") }));
