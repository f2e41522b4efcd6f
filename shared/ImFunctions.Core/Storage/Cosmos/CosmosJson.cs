using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using ImFunctions.Core.Domain;
using Microsoft.Azure.Cosmos;

namespace ImFunctions.Core.Storage.Cosmos;

/// <summary>
/// System.Text.Json with the domain's own options for everything the SDK reads and writes for us, so a document
/// carries exactly the snake_case fields the wire and the SQLite store use.
/// </summary>
sealed class CosmosJson : CosmosSerializer
{
    public static readonly JsonSerializerOptions Options = new(ImJson.Options) { Converters = { new StoredConverterFactory() } };

    public override T FromStream<T>(Stream stream)
    {
        if (typeof(Stream).IsAssignableFrom(typeof(T))) return (T)(object)stream;
        using (stream) return JsonSerializer.Deserialize<T>(stream, Options)!;
    }

    public override Stream ToStream<T>(T input)
    {
        var stream = new MemoryStream();
        JsonSerializer.Serialize(stream, input, Options);
        stream.Position = 0;
        return stream;
    }
}

/// <summary>A document as Cosmos holds it: the record's own fields plus <c>id</c>; read back with its <c>_etag</c>.</summary>
/// <param name="Ttl">Cosmos' per-item <c>ttl</c> in seconds (retention); never read back into the record.</param>
sealed record Stored<T>(string Id, T Value, string? ETag = null, int? Ttl = null);

sealed class StoredConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type type) => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Stored<>);

    public override JsonConverter CreateConverter(Type type, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(typeof(StoredConverter<>).MakeGenericType(type.GetGenericArguments()))!;

    sealed class StoredConverter<T> : JsonConverter<Stored<T>>
    {
        public override Stored<T> Read(ref Utf8JsonReader reader, Type type, JsonSerializerOptions options)
        {
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            return new Stored<T>(root.GetProperty("id").GetString()!, root.Deserialize<T>(options)!,
                root.TryGetProperty("_etag", out var etag) ? etag.GetString() : null);
        }

        public override void Write(Utf8JsonWriter writer, Stored<T> value, JsonSerializerOptions options)
        {
            var document = JsonSerializer.SerializeToNode(value.Value, options)!.AsObject();
            document["id"] = value.Id;
            // What search finds a message by, rewritten with every write of it (a revoke empties it).
            if (value.Value is Message message) document[CosmosImStore.SearchTextField] = Messages.MessageSearchText.Of(message);
            if (value.Ttl is { } ttl) document["ttl"] = ttl;
            document.WriteTo(writer, options);
        }
    }
}
