using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace ImFunctions.Tests.Support;

/// <summary>
/// An HTTP client for hostile requests: raw bytes, any content type, extra headers, and a chosen source address
/// (127.0.0.2 is a second client on loopback, so per-address rate limits are tested with real sockets).
/// </summary>
public sealed class RawClient : IDisposable
{
    readonly HttpClient http;

    public RawClient(TestApp app, string sourceAddress = "127.0.0.1")
    {
        var source = IPAddress.Parse(sourceAddress);
        http = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        }) { BaseAddress = app.BaseAddress };
    }

    public Task<ApiReply> PostAsync(string method, object body, string? token = null, IDictionary<string, string>? headers = null) =>
        SendAsync(HttpMethod.Post, method, JsonSerializer.SerializeToUtf8Bytes(body), "application/json", token, headers);

    public Task<ApiReply> PostJsonAsync(string method, string json, string? token = null) =>
        SendAsync(HttpMethod.Post, method, Encoding.UTF8.GetBytes(json), "application/json", token);

    /// <summary>
    /// Sends exactly these bytes; a null content type sends no Content-Type header at all, and <paramref name="chunked"/>
    /// sends no Content-Length either, so the server learns the size only by reading.
    /// </summary>
    public async Task<ApiReply> SendAsync(HttpMethod verb, string method, byte[]? body, string? contentType, string? token = null,
        IDictionary<string, string>? headers = null, bool chunked = false)
    {
        using var request = new HttpRequestMessage(verb, "/api/" + method);
        if (chunked) request.Headers.TransferEncodingChunked = true;
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            if (contentType is not null) request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        foreach (var (name, value) in headers ?? new Dictionary<string, string>()) request.Headers.TryAddWithoutValidation(name, value);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonElement json;
        try { json = JsonDocument.Parse(text).RootElement.Clone(); }
        catch (JsonException) { json = JsonSerializer.SerializeToElement(new { notJson = text }); }
        return new ApiReply((int)response.StatusCode, json, response.Headers);
    }

    public void Dispose() => http.Dispose();
}
