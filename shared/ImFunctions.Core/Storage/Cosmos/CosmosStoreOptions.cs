using System.Data.Common;
using System.Net;
using Azure.Identity;
using Microsoft.Azure.Cosmos;

namespace ImFunctions.Core.Storage.Cosmos;

/// <summary>The <c>Cosmos</c> settings section (env: <c>Cosmos__Endpoint</c>, ...).</summary>
public sealed class CosmosStoreOptions
{
    /// <summary>The account endpoint; with no <see cref="Key"/> the app signs in with its managed identity.</summary>
    public string? Endpoint { get; set; }
    public string? Key { get; set; }
    /// <summary><c>AccountEndpoint=...;AccountKey=...;</c>, instead of Endpoint and Key.</summary>
    public string? ConnectionString { get; set; }
    public string Database { get; set; } = "im";
    /// <summary>Creates the database and containers at start; false for accounts whose schema is deployed (infra/).</summary>
    public bool CreateIfMissing { get; set; } = true;
    /// <summary>Gateway mode against a local server with a self-signed certificate; refused unless the endpoint is loopback.</summary>
    public bool TrustLocalCertificate { get; set; }
    /// <summary>Tries per operation when Cosmos stays throttled or unavailable after the SDK's own retries.</summary>
    public int MaxAttempts { get; set; } = 3;
    /// <summary>UniIm:MessageTtl: each message is written with this per-item TTL (the container's TTL is on, no default).</summary>
    public TimeSpan? MessageTtl { get; set; }

    public Uri AccountEndpoint()
    {
        var endpoint = Endpoint;
        if (ConnectionString is { Length: > 0 })
        {
            var parts = new DbConnectionStringBuilder { ConnectionString = ConnectionString };
            endpoint = parts.TryGetValue("AccountEndpoint", out var value) ? value as string : null;
        }
        if (string.IsNullOrWhiteSpace(endpoint))
            throw new InvalidOperationException("Storage:Provider 'cosmos' needs Cosmos:Endpoint (with Cosmos:Key, or a managed identity) or Cosmos:ConnectionString.");
        return Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
            ? uri
            : throw new InvalidOperationException($"Cosmos endpoint '{endpoint}' is not an absolute URL.");
    }

    /// <summary>Fails at start on settings that cannot work, before any request.</summary>
    public void Validate()
    {
        var endpoint = AccountEndpoint();
        if (TrustLocalCertificate && !IsLoopback(endpoint))
            throw new InvalidOperationException(
                $"Cosmos:TrustLocalCertificate turns off certificate checks and is only for a local server, but the endpoint host is '{endpoint.Host}'. " +
                "Use it with a loopback endpoint (127.0.0.1, ::1, localhost) or remove it.");
        if (MaxAttempts < 1) throw new InvalidOperationException("Cosmos:MaxAttempts must be at least 1.");
    }

    static bool IsLoopback(Uri endpoint) =>
        endpoint.IsLoopback || (IPAddress.TryParse(endpoint.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    public CosmosClient CreateClient()
    {
        Validate();
        var client = new CosmosClientOptions
        {
            ApplicationName = "ImFunctions",
            Serializer = new CosmosJson(),
            // Writes need the new ETag (a header), never the document back.
            EnableContentResponseOnWrite = false,
            // The SDK's own 429 retries stay within an HTTP request's patience; the store adds a bounded policy on top.
            MaxRetryAttemptsOnRateLimitedRequests = 5,
            MaxRetryWaitTimeOnRateLimitedRequests = TimeSpan.FromSeconds(5),
        };
        if (TrustLocalCertificate)
        {
            client.ConnectionMode = ConnectionMode.Gateway;
            client.LimitToEndpoint = true;
            client.HttpClientFactory = () => new HttpClient(new SocketsHttpHandler
            {
                // Loopback only (Validate): the local server's certificate is self-signed.
                SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
            });
        }

        if (ConnectionString is { Length: > 0 }) return new CosmosClient(ConnectionString, client);
        var endpoint = AccountEndpoint().ToString();
        return Key is { Length: > 0 }
            ? new CosmosClient(endpoint, Key, client)
            : new CosmosClient(endpoint, new DefaultAzureCredential(), client);
    }
}
