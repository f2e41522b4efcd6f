using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using ImFunctions.Core.Domain;
using Microsoft.Azure.Cosmos;
using User = ImFunctions.Core.Domain.User;

namespace ImFunctions.Core.Storage.Cosmos;

/// <summary>
/// The production store: Cosmos DB for NoSQL, no transactions. A message is one conditional create whose unique
/// key (/seq per conversation) makes the seq claim atomic; a conversation row is an ETag-guarded replace. Every
/// list is one single-partition query with the partition filter in its text too.
/// </summary>
public sealed partial class CosmosImStore : IImStore, IDisposable
{
    public const string MeterName = "ImFunctions.Store";
    static readonly Meter Meter = new(MeterName);
    static readonly Histogram<double> Charges = Meter.CreateHistogram<double>("im.store.request_charge", "RU", "Request units per Cosmos DB round trip");
    static readonly Counter<long> Requests = Meter.CreateCounter<long>("im.store.requests", description: "Cosmos DB round trips");

    static readonly HttpStatusCode[] Transient =
        [HttpStatusCode.TooManyRequests, HttpStatusCode.RequestTimeout, HttpStatusCode.ServiceUnavailable, (HttpStatusCode)449];
    const int MaxRowAttempts = 100;

    readonly CosmosClient client;
    readonly CosmosStoreOptions options;
    readonly Container users, extUids, conversations, messages;

    public CosmosImStore(CosmosStoreOptions options)
    {
        this.options = options;
        client = options.CreateClient();
        users = client.GetContainer(options.Database, "users");
        extUids = client.GetContainer(options.Database, "extUids");
        conversations = client.GetContainer(options.Database, "conversations");
        messages = client.GetContainer(options.Database, "messages");
        groups = client.GetContainer(options.Database, "groups");
    }

    /// <summary>Items per query round trip; null asks for the whole limit at once (tests lower it to page through continuations).</summary>
    internal int? QueryPageSize { get; init; }

    /// <summary>The containers, exactly as infra/modules/cosmos.bicep deploys them: indexes only on what the queries filter and order by.</summary>
    internal static IEnumerable<ContainerProperties> Schema()
    {
        yield return Define("users", "/id", []);
        yield return Define("extUids", "/id", []);
        yield return Define("conversations", "/user_id", ["/user_id/?", "/update_time/?", "/type/?", "/list_key/?", "/unread_count/?"]);
        var messages = Define("messages", "/conversation_id", ["/conversation_id/?", "/seq/?", "/update_time/?"]);
        messages.UniqueKeyPolicy.UniqueKeys.Add(new UniqueKey { Paths = { "/seq" } });
        messages.DefaultTimeToLive = -1;   // TTL on, no default: only items that carry a ttl ever expire
        yield return messages;
        yield return GroupsContainer();
        yield return FriendsContainer();
        foreach (var container in IntegrationsSchema()) yield return container;
    }

    static ContainerProperties Define(string name, string partitionKey, string[] indexedPaths)
    {
        var container = new ContainerProperties(name, partitionKey) { PartitionKeyDefinitionVersion = PartitionKeyDefinitionVersion.V2 };
        container.IndexingPolicy = new IndexingPolicy { IndexingMode = IndexingMode.Consistent, Automatic = true };
        foreach (var path in indexedPaths) container.IndexingPolicy.IncludedPaths.Add(new IncludedPath { Path = path });
        container.IndexingPolicy.ExcludedPaths.Add(new ExcludedPath { Path = "/*" });
        return container;
    }

    public async Task InitializeAsync(CancellationToken ct)
    {
        if (options.CreateIfMissing)
        {
            Database database = await client.CreateDatabaseIfNotExistsAsync(options.Database, cancellationToken: ct);
            foreach (var container in Schema()) await database.CreateContainerIfNotExistsAsync(container, cancellationToken: ct);
            return;
        }
        // A locked-down account's identity may not create anything: check that infra/ deployed what we need.
        foreach (var container in Schema())
        {
            try { await client.GetContainer(options.Database, container.Id).ReadContainerAsync(cancellationToken: ct); }
            catch (CosmosException e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                throw new InvalidOperationException(
                    $"Cosmos container '{options.Database}/{container.Id}' does not exist. Deploy infra/ or set Cosmos__CreateIfMissing=true.", e);
            }
        }
    }

    public async Task<User?> GetUserAsync(string uid, CancellationToken ct) =>
        (await ReadAsync<Stored<User>>(users, uid, uid, ct)).Item?.Value;

    public async Task<IReadOnlyList<User>> GetUsersAsync(IReadOnlyCollection<string> uids, CancellationToken ct)
    {
        if (uids.Count == 0) return [];
        var keys = uids.Select(uid => (uid, new PartitionKey(uid))).ToList();
        var (found, _) = await SendAsync(StoreOp.Query, users, () => users.ReadManyItemsAsync<Stored<User>>(keys, cancellationToken: ct),
            r => (r.StatusCode, r.RequestCharge), ct);
        return found!.Select(s => s.Value).ToList();
    }

    public async Task<string?> FindUidByExtUidAsync(string extUid, CancellationToken ct) =>
        (await ReadAsync<ExtUid>(extUids, extUid, extUid, ct)).Item?.Uid;

    public async Task<string> BindExtUidAsync(string extUid, string proposedUid, CancellationToken ct)
    {
        for (var attempt = 0; attempt < options.MaxAttempts; attempt++)
        {
            var created = await WriteAsync(extUids, () => extUids.CreateItemAsync(new ExtUid(extUid, proposedUid), new PartitionKey(extUid),
                cancellationToken: ct), ct, HttpStatusCode.Conflict);
            if (created.Status != HttpStatusCode.Conflict) return proposedUid;
            // Bound already (the 409 says so): whoever won, their uid is the answer.
            if (await FindUidByExtUidAsync(extUid, ct) is { } bound) return bound;
        }
        throw new DependencyUnavailableException("Cosmos DB (ext uid binding)");
    }

    public Task SaveUserAsync(User user, CancellationToken ct) =>
        WriteAsync(users, () => users.UpsertItemAsync(new Stored<User>(user.Id, user), new PartitionKey(user.Id), cancellationToken: ct), ct);

    public async Task<AppendResult> TryAppendMessageAsync(Message message, CancellationToken ct)
    {
        var created = await WriteAsync(messages, () => messages.CreateItemAsync(StoredMessage(message),
            new PartitionKey(message.ConversationId), cancellationToken: ct), ct, HttpStatusCode.Conflict);
        if (created.Status != HttpStatusCode.Conflict) return AppendResult.Appended;

        // 409: the id or the (conversation, seq) unique key is taken. Only contention or a retry gets here.
        if ((await ReadAsync<Stored<Message>>(messages, message.Id, message.ConversationId, ct)).Item is not null)
            return AppendResult.IdTaken;
        var head = await QueryAsync<long>(messages, message.ConversationId, 1,
            "SELECT TOP 1 VALUE c.seq FROM c WHERE c.conversation_id = @pk ORDER BY c.seq DESC", ct);
        // Its time is not read: this store does not order times (AppendsInCallOrder is false).
        return AppendResult.SeqTaken(new ConversationHead(head.FirstOrDefault(), 0));
    }

    public async Task<Message?> GetMessageAsync(string conversationId, string messageId, CancellationToken ct) =>
        (await ReadAsync<Stored<Message>>(messages, messageId, conversationId, ct)).Item?.Value;

    public async Task<IReadOnlyList<Message>> ReadMessagesAsync(string conversationId, SeqWindow window, int limit, CancellationToken ct)
    {
        var (filter, order, bound) = window switch
        {
            { AfterSeq: { } after } => (" AND c.seq > @seq", "ASC", (long?)after),
            { BeforeSeq: { } before } => (" AND c.seq < @seq", "DESC", before),
            _ => ("", "DESC", null),
        };
        var page = await QueryAsync<Stored<Message>>(messages, conversationId, limit,
            $"SELECT TOP @limit * FROM c WHERE c.conversation_id = @pk{filter} ORDER BY c.seq {order}", ct,
            ("@limit", limit), ("@seq", bound));
        return page.Select(s => s.Value).ToList();
    }

    public async Task<IReadOnlyList<Message>> ReadMessagesUpdatedSinceAsync(string conversationId, long minUpdateTime, int limit,
        CancellationToken ct)
    {
        // One ORDER BY property (two would need a composite index); ties are put in seq order here.
        var page = await QueryAsync<Stored<Message>>(messages, conversationId, limit,
            "SELECT TOP @limit * FROM c WHERE c.conversation_id = @pk AND c.update_time > @t ORDER BY c.update_time", ct,
            ("@limit", limit), ("@t", minUpdateTime));
        return page.Select(s => s.Value).OrderBy(m => m.UpdateTime).ThenBy(m => m.Seq).ToList();
    }

    public async Task<ConversationRow?> GetConversationAsync(string userId, string conversationId, CancellationToken ct)
    {
        var (row, etag) = await ReadAsync<Stored<ConversationRow>>(conversations, conversationId, userId, ct);
        return row is null ? null : row.Value with { ETag = etag ?? row.ETag };
    }

    public async Task<IReadOnlyList<ConversationRow>> ListConversationsAsync(string userId, ConversationPage page, CancellationToken ct)
    {
        var rows = await QueryAsync<Stored<ConversationRow>>(conversations, userId, page.Limit,
            $"SELECT * FROM c WHERE c.user_id = @pk{(page.MaxUpdateTime is null ? "" : " AND c.update_time < @max")} " +
            "ORDER BY c.update_time DESC OFFSET @skip LIMIT @limit", ct,
            ("@max", page.MaxUpdateTime), ("@skip", page.Skip), ("@limit", page.Limit));
        return rows.Select(s => s.Value with { ETag = s.ETag }).ToList();
    }

    /// <summary>No transactions: a send's writes follow its append, each its own point write (the port's default).</summary>
    public Task UpdateAsync(AppendWrites writes, CancellationToken ct) => writes.ApplyEachAsync(this, this, ct);

    public async Task<ConversationRow?> UpdateConversationAsync(string userId, string conversationId, ConversationRow? known,
        Func<ConversationRow?, ConversationRow?> apply, CancellationToken ct)
    {
        var current = known;
        var fresh = known?.ETag is null;
        for (var attempt = 0; attempt < MaxRowAttempts; attempt++)
        {
            if (fresh) current = await GetConversationAsync(userId, conversationId, ct);
            var next = apply(current);
            if (next is null) return current;
            var written = current is null
                ? await WriteAsync(conversations, () => conversations.CreateItemAsync(next, new PartitionKey(userId), cancellationToken: ct),
                    ct, HttpStatusCode.Conflict)
                : await WriteAsync(conversations, () => conversations.ReplaceItemAsync(next, conversationId, new PartitionKey(userId),
                    new ItemRequestOptions { IfMatchEtag = current.ETag }, ct), ct, HttpStatusCode.PreconditionFailed, HttpStatusCode.NotFound);
            if (written.Response is { } response) return next with { ETag = response.ETag };
            fresh = true;   // someone else changed the row first: read it again and reapply
        }
        throw new DependencyUnavailableException("Cosmos DB (conversation row contention)");
    }

    async Task<(T? Item, string? ETag)> ReadAsync<T>(Container container, string id, string partitionKey, CancellationToken ct) where T : class
    {
        var (response, _) = await SendAsync(StoreOp.PointRead, container,
            () => container.ReadItemAsync<T>(id, new PartitionKey(partitionKey), cancellationToken: ct),
            r => (r.StatusCode, r.RequestCharge), ct, HttpStatusCode.NotFound);
        return (response?.Resource, response?.ETag);
    }

    Task<(ItemResponse<T>? Response, HttpStatusCode Status)> WriteAsync<T>(Container container, Func<Task<ItemResponse<T>>> write,
        CancellationToken ct, params HttpStatusCode[] expected) =>
        SendAsync(StoreOp.Write, container, write, r => (r.StatusCode, r.RequestCharge), ct, expected);

    /// <summary>
    /// A query over every partition (the SDK fans it out and merges the order): for rare jobs such as account deletion
    /// and export, never a request's hot path.
    /// </summary>
    Task<List<T>> QueryAcrossPartitionsAsync<T>(Container container, int limit, string sql, CancellationToken ct,
        params (string Name, object? Value)[] parameters) =>
        PagesAsync<T>(container, WithParameters(new QueryDefinition(sql), parameters), new QueryRequestOptions { MaxItemCount = QueryPageSize ?? limit },
            limit, ct);

    /// <summary>A single-partition query, paged through continuations until <paramref name="limit"/> items or the end.</summary>
    Task<List<T>> QueryAsync<T>(Container container, string partitionKey, int limit, string sql, CancellationToken ct,
        params (string Name, object? Value)[] parameters) =>
        PagesAsync<T>(container, WithParameters(new QueryDefinition(sql).WithParameter("@pk", partitionKey), parameters), new QueryRequestOptions
        {
            PartitionKey = new PartitionKey(partitionKey),
            MaxItemCount = QueryPageSize ?? limit,
            // Straight to the one partition: no query-plan round trip to the gateway first.
            EnableOptimisticDirectExecution = true,
        }, limit, ct);

    static QueryDefinition WithParameters(QueryDefinition query, (string Name, object? Value)[] parameters)
    {
        foreach (var (name, value) in parameters)
            if (value is not null) query = query.WithParameter(name, value);   // null: the filter is not in this query
        return query;
    }

    async Task<List<T>> PagesAsync<T>(Container container, QueryDefinition query, QueryRequestOptions requestOptions, int limit,
        CancellationToken ct)
    {
        var items = new List<T>();
        string? continuation = null;
        do
        {
            // A fresh iterator per page, resumed from the last token, so a retried page never skips or repeats items.
            var (page, _) = await SendAsync(StoreOp.Query, container, async () =>
            {
                using var iterator = container.GetItemQueryIterator<T>(query, continuation, requestOptions);
                return await iterator.ReadNextAsync(ct);
            }, r => (r.StatusCode, r.RequestCharge), ct);
            items.AddRange(page!);
            continuation = page!.ContinuationToken;
        } while (continuation is not null && items.Count < limit);
        return items.Count > limit ? items.GetRange(0, limit) : items;
    }

    /// <summary>
    /// One metered round trip. Expected refusals (404, 409, 412 as the caller says) come back as a status; throttling
    /// and outages are retried a bounded number of times after the SDK's own retries, then reported as unavailable.
    /// </summary>
    async Task<(TResponse? Response, HttpStatusCode Status)> SendAsync<TResponse>(StoreOp op, Container container,
        Func<Task<TResponse>> call, Func<TResponse, (HttpStatusCode Status, double Charge)> outcome, CancellationToken ct,
        params HttpStatusCode[] expected) where TResponse : class
    {
        for (var attempt = 1; ; attempt++)
        {
            Exception failure;
            TimeSpan? retryAfter = null;
            try
            {
                var response = await call();
                var (status, charge) = outcome(response);
                Record(op, container, status, charge);
                return (response, status);
            }
            catch (CosmosException e)
            {
                Record(op, container, e.StatusCode, e.RequestCharge);
                if (expected.Contains(e.StatusCode)) return (null, e.StatusCode);
                if (!Transient.Contains(e.StatusCode)) throw;
                (failure, retryAfter) = (e, e.RetryAfter);
            }
            catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !ct.IsCancellationRequested))
            {
                Record(op, container, 0, 0);
                failure = e;
            }
            if (attempt >= options.MaxAttempts) throw new DependencyUnavailableException("Cosmos DB", failure);
            Telemetry.ImDiagnostics.StoreRetries.Add(1);
            var backoff = TimeSpan.FromMilliseconds(100 * (1 << (attempt - 1)) + Random.Shared.Next(50));
            await Task.Delay(retryAfter is { } wait && wait > backoff ? wait : backoff, ct);
        }
    }

    static void Record(StoreOp op, Container container, HttpStatusCode status, double charge)
    {
        StoreMeter.Record(op, charge);
        var tags = new TagList { { "op", op.ToString() }, { "container", container.Id }, { "status", (int)status } };
        Requests.Add(1, tags);
        Charges.Record(charge, tags);
    }

    public void Dispose() => client.Dispose();

    /// <summary>An extUids document: the external uid (id and partition key) and the internal uid it is bound to.</summary>
    sealed record ExtUid(string Id, string Uid);
}
