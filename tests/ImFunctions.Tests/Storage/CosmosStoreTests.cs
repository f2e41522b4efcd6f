using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.RegularExpressions;
using ImFunctions.Core.Domain;
using ImFunctions.Core.Storage;
using ImFunctions.Core.Storage.Cosmos;
using ImFunctions.Tests.Support;

namespace ImFunctions.Tests.Storage;

/// <summary>What only the Cosmos adapter has: continuation paging, its settings, its metering and its containers.</summary>
public sealed class CosmosStoreTests
{
    readonly CosmosStoreFactory factory = new();

    [OneTimeTearDown]
    public Task DropDatabase() => factory.DisposeAsync();

    static Message NewMessage(string conversationId, long seq) => new()
    {
        Id = Ids.New(), ConversationId = conversationId, Seq = seq, FromUid = "a", ToUid = "b", Appid = "__UNI__TEST",
        Type = "text", Body = JsonSerializer.SerializeToElement("m" + seq), CreateTime = 1000 + seq, UpdateTime = 1000 + seq,
    };

    [Test]
    public async Task Queries_page_through_continuation_tokens_up_to_the_limit()
    {
        var store = await factory.CreateAsync(pageSize: 2);
        var conversation = "single_" + Guid.NewGuid().ToString("N");
        for (var seq = 1; seq <= 9; seq++)
            Assert.That(await store.TryAppendMessageAsync(NewMessage(conversation, seq), default), Is.EqualTo(AppendResult.Appended));
        var user = Ids.New();
        for (var i = 1; i <= 7; i++)
        {
            var row = new ConversationRow { Id = $"single_{i}", UserId = user, Type = ConversationTypes.Single, UpdateTime = 1000 + i };
            await store.UpdateConversationAsync(user, row.Id, null, _ => row, default);
        }

        using var scope = StoreMeter.Start();
        var newest = await store.ReadMessagesAsync(conversation, new SeqWindow(), 5, default);
        var older = await store.ReadMessagesAsync(conversation, new SeqWindow(BeforeSeq: 5), 100, default);
        var gapFill = await store.ReadMessagesAsync(conversation, new SeqWindow(AfterSeq: 3), 5, default);
        var updates = await store.ReadMessagesUpdatedSinceAsync(conversation, 1002, 100, default);
        var secondPage = await store.ListConversationsAsync(user, new ConversationPage(5, Skip: 1), default);
        var beforeCursor = await store.ListConversationsAsync(user, new ConversationPage(100, MaxUpdateTime: 1004), default);

        Assert.That(newest.Select(m => m.Seq), Is.EqualTo(new long[] { 9, 8, 7, 6, 5 }));
        Assert.That(older.Select(m => m.Seq), Is.EqualTo(new long[] { 4, 3, 2, 1 }));
        Assert.That(gapFill.Select(m => m.Seq), Is.EqualTo(new long[] { 4, 5, 6, 7, 8 }));
        Assert.That(updates.Select(m => m.Seq), Is.EqualTo(new long[] { 3, 4, 5, 6, 7, 8, 9 }));
        Assert.That(secondPage.Select(r => r.UpdateTime), Is.EqualTo(new long[] { 1006, 1005, 1004, 1003, 1002 }));
        Assert.That(beforeCursor.Select(r => r.UpdateTime), Is.EqualTo(new long[] { 1003, 1002, 1001 }));
        Assert.That(secondPage.All(r => r.ETag is not null), "listed rows carry their ETag for a later conditional replace");
        Assert.That(scope.Meter.Queries, Is.GreaterThanOrEqualTo(15), "pages of two items each: " + scope.Meter);
    }

    [Test]
    public async Task Every_round_trip_is_metered_with_its_request_charge()
    {
        var store = await factory.CreateAsync(pageSize: null);
        var charges = new ConcurrentBag<double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == CosmosImStore.MeterName && instrument.Name == "im.store.request_charge") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((_, charge, _, _) => charges.Add(charge));
        listener.Start();

        using var scope = StoreMeter.Start();
        var user = new User { Id = Ids.New(), ExtUid = "ext-" + Guid.NewGuid().ToString("N") };
        await store.SaveUserAsync(user, default);
        Assert.That((await store.GetUserAsync(user.Id, default))?.ExtUid, Is.EqualTo(user.ExtUid));
        Assert.That(await store.GetUserAsync(Ids.New(), default), Is.Null);

        // The local server charges 1 RU for anything, a 404 included; a real account reports real charges.
        Assert.That((scope.Meter.Writes, scope.Meter.PointReads, scope.Meter.RequestCharge), Is.EqualTo((1, 2, 3.0)));
        Assert.That(charges, Has.Count.GreaterThanOrEqualTo(3));
    }

    [Test]
    public void Trusting_the_local_certificate_is_refused_unless_the_endpoint_is_loopback()
    {
        foreach (var remote in new[] { "https://imfunctions.documents.azure.com:443/", "https://10.0.0.5:8081/", "https://localhost.example.com/" })
        {
            var refused = Assert.Throws<InvalidOperationException>(() =>
                new CosmosStoreOptions { Endpoint = remote, Key = CosmosServer.Key, TrustLocalCertificate = true }.Validate());
            Assert.That(refused!.Message, Does.Contain("TrustLocalCertificate"));
        }
        Assert.Throws<InvalidOperationException>(() => new CosmosStoreOptions
        {
            ConnectionString = $"AccountEndpoint=https://imfunctions.documents.azure.com:443/;AccountKey={CosmosServer.Key};",
            TrustLocalCertificate = true,
        }.Validate());
        foreach (var local in new[] { "https://127.0.0.1:8081/", "https://localhost:8081/", "https://[::1]:8081/" })
            Assert.DoesNotThrow(() => new CosmosStoreOptions { Endpoint = local, Key = CosmosServer.Key, TrustLocalCertificate = true }.Validate());
    }

    [Test]
    public async Task The_containers_are_created_as_infra_deploys_them()
    {
        var deployed = BicepContainers();
        var schema = CosmosImStore.Schema().ToList();
        Assert.That(schema.Select(c => c.Id), Is.EquivalentTo(deployed.Keys));

        var options = await factory.OptionsAsync();
        await factory.CreateAsync(pageSize: null);   // creates the containers
        using var client = options.CreateClient();
        foreach (var container in schema)
        {
            var created = (await client.GetContainer(options.Database, container.Id).ReadContainerAsync()).Resource;
            var (partitionKey, indexed, uniqueKeys, ttl) = deployed[container.Id];
            Assert.That(created.PartitionKeyPath, Is.EqualTo(partitionKey), container.Id);
            Assert.That(created.IndexingPolicy.IncludedPaths.Select(p => p.Path), Is.EquivalentTo(indexed), container.Id);
            Assert.That(created.IndexingPolicy.ExcludedPaths.Select(p => p.Path), Is.EqualTo(new[] { "/*" }), container.Id);
            Assert.That(created.UniqueKeyPolicy.UniqueKeys.SelectMany(k => k.Paths), Is.EquivalentTo(uniqueKeys), container.Id);
            Assert.That(created.DefaultTimeToLive, Is.EqualTo(ttl), container.Id);
        }
    }

    [Test]
    public async Task The_unread_rows_are_selected_by_a_field_every_row_document_carries_and_the_index_holds()
    {
        var store = await factory.CreateAsync(pageSize: null);
        var user = Ids.New();
        ConversationRow Row(string id, long lastSeq, long readSeq, bool marked = false) => new()
        {
            Id = id, UserId = user, Type = ConversationTypes.Single, UpdateTime = 1000 + lastSeq, LastSeq = lastSeq, ReadSeq = readSeq,
            MarkedUnread = marked,
        };
        foreach (var row in new[] { Row("read", 4, 4), Row("behind", 7, 2), Row("marked", 3, 3, marked: true), Row("marked-behind", 9, 1, marked: true) })
            await store.UpdateConversationAsync(user, row.Id, null, _ => row, default);
        // A read moves a row out of the unread ones: the field is rewritten with the row.
        await store.UpdateConversationAsync(user, "behind", null, row => row! with { ReadSeq = 7 }, default);

        var options = await factory.OptionsAsync();
        using var client = options.CreateClient();
        var documents = client.GetContainer(options.Database, "conversations").GetItemQueryIterator<JsonElement>(
            new Microsoft.Azure.Cosmos.QueryDefinition("SELECT * FROM c WHERE c.user_id = @pk").WithParameter("@pk", user));
        var stored = new Dictionary<string, long>();
        while (documents.HasMoreResults)
            foreach (var document in await documents.ReadNextAsync())
            {
                var (last, read) = (document.GetProperty("last_seq").GetInt64(), document.GetProperty("read_seq").GetInt64());
                var (marked, unreadCount) = (document.GetProperty("marked_unread").GetBoolean(), document.GetProperty("unread_count").GetInt64());
                Assert.That(unreadCount, Is.EqualTo(Math.Max(marked ? 1 : 0, last - read)));
                stored[document.GetProperty("id").GetString()!] = unreadCount;
            }
        Assert.That(stored, Is.EquivalentTo(new Dictionary<string, long> { ["read"] = 0, ["behind"] = 0, ["marked"] = 1, ["marked-behind"] = 8 }));

        var unread = await ((IConversationListStore)store).ListUnreadAsync(user, null, 10, default);
        Assert.That(unread.Select(r => (r.ConversationId, r.UnreadCount)), Is.EqualTo(new[] { ("marked-behind", 8L), ("marked", 1L) }));

        // The condition names one field, and the container indexes it (else Cosmos loads every row of the user to test it).
        var field = Regex.Match(CosmosImStore.UnreadCondition, @"^c\.(\w+) > 0$").Groups[1].Value;
        var indexed = CosmosImStore.Schema().Single(c => c.Id == "conversations").IndexingPolicy.IncludedPaths.Select(p => p.Path);
        Assert.That(indexed, Does.Contain($"/{field}/?"));
    }

    /// <summary>The container list of infra/modules/cosmos.bicep: name → (partition key, indexed paths, unique keys, default TTL).</summary>
    static Dictionary<string, (string PartitionKey, string[] Indexed, string[] UniqueKeys, int? DefaultTtl)> BicepContainers()
    {
        var bicep = File.ReadAllText(Path.Combine(NodeTools.PackageDirectory, "..", "..", "infra", "modules", "cosmos.bicep"));
        var list = Regex.Match(bicep, @"var containers containerSpec\[\] = \[(?<list>.*?)\n\]", RegexOptions.Singleline).Groups["list"].Value;
        static string[] Strings(string block, string field) =>
            Regex.Matches(Regex.Match(block, field + @":\s*\[(?<items>[^\]]*)\]").Groups["items"].Value, "'([^']*)'").Select(m => m.Groups[1].Value).ToArray();
        return Regex.Matches(list, @"\{(?<block>[^{}]*)\}").Select(m => m.Groups["block"].Value).ToDictionary(
            block => Regex.Match(block, @"name:\s*'([^']+)'").Groups[1].Value,
            block => (Regex.Match(block, @"partitionKey:\s*'([^']+)'").Groups[1].Value, Strings(block, "indexedPaths"), Strings(block, "uniqueKeys"),
                Regex.Match(block, @"defaultTtl:\s*(-?\d+)") is { Success: true } ttl ? int.Parse(ttl.Groups[1].Value) : (int?)null));
    }
}
