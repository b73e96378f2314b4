using System.Text.Json;
using Kassa.Core.Errors;
using Kassa.Core.Validation;
using Kassa.Engine.Common;
using Kassa.Engine.Idempotency;
using Kassa.Engine.Json;
using Kassa.Engine.Storage;

namespace Kassa.Server.Http;

/// <summary>What an endpoint answers on success: a status and the resource to serialise.</summary>
public readonly record struct Reply(int Status, object Body);

/// <summary>
/// Runs use cases for endpoints. A mutation runs as: read the body (≤ 1 MiB) → claim the
/// idempotency key (if one was sent) → parse → run the use case in one transaction that also stores
/// the response under the claimed key → answer. Business errors roll the transaction back; their
/// response is then stored on its own, so a retry gets the same answer. A 5xx is never stored.
/// <para>
/// Which paths share transactions (ADR 0010): <c>Mutate</c> runs its work through the
/// <see cref="MutationBatcher"/> — one transaction for many requests, each in a savepoint, answered
/// after the COMMIT. <c>MutateThen</c>/<c>MutateInSteps</c> (a provider call between two
/// transactions), <c>Preview</c> (always rolled back), the idempotency claim and the balance engine's
/// operations (their own group commit) each keep their own transactions.
/// </para>
/// </summary>
public sealed class Api(IKassaStore store, TimeProvider time, Kassa.Server.Workers.WebhookSignal signal, Kassa.Engine.Balances.BalanceEngine engine,
    Kassa.Engine.TestClocks.ClockTimes clocks, MutationBatcher batcher, Kassa.Engine.Balances.ReadOnlyCheckQueue readOnlyChecks)
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    public OperationContext Operation(HttpContext http) =>
        new(http.Principal().Tenant, http.Principal().Actor, http.RequestId(), time.GetUtcNow());

    /// <summary>A mutation with a JSON body.</summary>
    public Task Mutate<TBody, TResult>(HttpContext http, Func<IStoreSession, OperationContext, TBody, Task<Result<TResult>>> work, Func<TResult, Reply> reply)
        where TBody : class =>
        Run(http, body =>
        {
            // Parsed before the work is queued: the writer's time is for the database.
            var parsed = JsonBody.Parse<TBody>(body);
            if (!parsed.IsOk) return (parsed.Error!, null, false);
            var value = parsed.Value;
            Work run = async (session, op) =>
            {
                var result = await work(session, op, value);
                return result.IsOk ? reply(result.Value) : Result<Reply>.Fail(result.Error!);
            };
            return (run, value is Kassa.Engine.Balances.ICustomerScoped { CustomerId: { } customer } ? customer : RouteId(http),
                value is Kassa.Engine.Balances.ILoadsCustomerBook { CustomerId: not null });
        });

    /// <summary>A mutation without a body (e.g. DELETE, revoke). A non-empty body is refused.</summary>
    public Task Mutate<TResult>(HttpContext http, Func<IStoreSession, OperationContext, Task<Result<TResult>>> work, Func<TResult, Reply> reply) =>
        Run(http, body =>
        {
            var empty = JsonBody.Parse<EmptyBody>(body);
            if (!empty.IsOk) return (empty.Error!, null, false);
            Work run = async (session, op) =>
            {
                var result = await work(session, op);
                return result.IsOk ? reply(result.Value) : Result<Reply>.Fail(result.Error!);
            };
            return (run, RouteId(http), false);
        });

    /// <summary>
    /// The object a mutation's route names (<c>{id}</c>), its shard key in the mutation batcher when its body
    /// names no customer: requests on one object go to one writer loop.
    /// </summary>
    private static string? RouteId(HttpContext http) => http.Request.RouteValues.TryGetValue("id", out var id) ? id as string : null;

    /// <summary>A mutation's work, parsed and ready to run in a transaction.</summary>
    private delegate Task<Result<Reply>> Work(IStoreSession session, OperationContext op);

    /// <summary>
    /// A mutation whose effect finishes outside the transaction (a provider call): <paramref name="work"/>
    /// runs in one transaction that writes everything needed to finish (e.g. a payment attempt), then,
    /// after the commit, <paramref name="finish"/> completes it and produces the answer. With an
    /// <c>Idempotency-Key</c> the final answer is stored under the key afterwards; a retry while the first
    /// is still running gets <c>409 idempotency_key_in_use</c>. If the process dies between the two steps the
    /// claim expires and a retry runs the work again, which the use cases refuse (the first one's effect
    /// is there) — and the attempt itself is completed by the payments reconcile, never run twice.
    /// </summary>
    public Task MutateThen<TBody, TStep, TResult>(HttpContext http, Func<IStoreSession, OperationContext, TBody, Task<Result<TStep>>> work,
        Func<TStep, OperationContext, CancellationToken, Task<Result<TResult>>> finish, Func<TResult, Reply> reply)
        where TBody : class =>
        InTwoSteps<TBody, TStep, TResult>(http, (s, op, body, _) => work(s, op, body), finish, reply);

    /// <summary>
    /// The two-step mutation behind <see cref="MutateThen"/> and <see cref="MutateInSteps{TBody}"/>: the first
    /// step also receives the request's Idempotency-Key (null without one).
    /// </summary>
    private async Task InTwoSteps<TBody, TStep, TResult>(HttpContext http, Func<IStoreSession, OperationContext, TBody, string?, Task<Result<TStep>>> work,
        Func<TStep, OperationContext, CancellationToken, Task<Result<TResult>>> finish, Func<TResult, Reply> reply)
        where TBody : class
    {
        var read = await JsonBody.ReadBytesAsync(http.Request, http.RequestAborted);
        if (!read.IsOk)
        {
            await ApiResponses.WriteError(http, read.Error!);
            return;
        }
        var body = read.Value;
        var op = Operation(http);
        var (key, claimToken, answered) = await ClaimHeaderAsync(http, op, body);
        if (answered) return;
        int status;
        byte[] bytes;
        try
        {
            var parsed = JsonBody.Parse<TBody>(body);
            Result<TResult> result;
            if (!parsed.IsOk) result = parsed.Error!;
            else
            {
                var step = await store.WriteAsync(s => work(s, op, parsed.Value, key), commitIf: r => r.IsOk, ct: CancellationToken.None);
                if (step.IsOk) signal.Poke();
                // Not cancelled with the request: once committed, the effect is finished either way.
                result = step.IsOk ? await finish(step.Value, op, CancellationToken.None) : step.Error!;
            }
            if (result.IsOk)
            {
                var r = reply(result.Value);
                (status, bytes) = (r.Status, JsonSerializer.SerializeToUtf8Bytes(r.Body, KassaJson.Options));
            }
            else (status, bytes) = ApiErrors.Render(result.Error!, op.RequestId);
        }
        catch
        {
            if (claimToken is not null) await ReleaseClaimAsync(op, key!, claimToken);
            throw;
        }
        if (claimToken is not null)
        {
            if (status < 500)
                await store.WriteAsync(s => s.Idempotency.CompleteAsync(op.Tenant, key!, claimToken, status, bytes, op.Now + ClaimIdempotencyKey.Retention),
                    ct: CancellationToken.None);
            else await ReleaseClaimAsync(op, key!, claimToken);
        }
        signal.Poke();
        await ApiResponses.WriteBytes(http, status, bytes);
    }

    /// <summary>
    /// A preview: the use case runs in a write transaction that is always rolled back, so it can do
    /// exactly what the real call would (numbers, redemptions, postings) and keep none of it.
    /// </summary>
    public async Task Preview<TResult>(HttpContext http, Func<IStoreSession, OperationContext, Task<Result<TResult>>> work)
    {
        var op = Operation(http);
        var result = await store.WriteAsync(s => work(s, op), commitIf: _ => false, ct: http.RequestAborted);
        if (result.IsOk) await ApiResponses.WriteJson(http, StatusCodes.Status200OK, result.Value);
        else await ApiResponses.WriteError(http, result.Error!);
    }

    /// <summary>A read in one read-only session.</summary>
    public async Task Read<TResult>(HttpContext http, Func<IStoreSession, Tenant, Task<Result<TResult>>> work, int status = 200)
    {
        var tenant = http.Principal().Tenant;
        var result = await store.ReadAsync(s => work(s, tenant), http.RequestAborted);
        if (result.IsOk) await ApiResponses.WriteJson(http, status, result.Value);
        else await ApiResponses.WriteError(http, result.Error!);
    }

    /// <summary>Reads and parses a JSON body for routes that do not run in a write transaction; null when an error was already answered.</summary>
    public async Task<TBody?> ReadBody<TBody>(HttpContext http) where TBody : class
    {
        var read = await JsonBody.ReadBytesAsync(http.Request, http.RequestAborted);
        if (!read.IsOk)
        {
            await ApiResponses.WriteError(http, read.Error!);
            return null;
        }
        var parsed = JsonBody.Parse<TBody>(read.Value);
        if (parsed.IsOk) return parsed.Value;
        await ApiResponses.WriteError(http, parsed.Error!);
        return null;
    }

    /// <summary>
    /// How long a client is asked to wait when a server queue is full: a queue drains in milliseconds, so
    /// the shortest wait Retry-After can say.
    /// </summary>
    public static readonly TimeSpan OverloadRetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A balance-engine request (check, track, lock finalization): read the body → claim the
    /// <c>Idempotency-Key</c> header if one was sent (spec §1.3, exactly as <see cref="Mutate{TBody,TResult}"/>:
    /// replay with <c>Idempotent-Replayed: true</c>, <c>422 idempotency_key_reused</c> for another
    /// body, <c>409 idempotency_key_in_use</c> while the first runs) → parse and validate into an
    /// operation → decide it (from a read session when <paramref name="readOnly"/> offers one, else
    /// through the engine) → store the answer under the key → answer. Only requests that send the
    /// header pay for the claim's two short write transactions; the hot path without it is unchanged.
    /// The body's own <c>idempotency_key</c> (usage dedupe per customer) is a different thing and is
    /// left to the use case. A 5xx and a 429 (queue full) are not stored: the retry runs again.
    /// A full queue is back-pressure: 429 <c>overloaded</c> with Retry-After. An operation the engine
    /// could not run because the server is stopping fails with <see cref="UnavailableException"/>, and
    /// one whose database could not be reached fails with that exception: the request pipeline answers
    /// both 503.
    /// </summary>
    /// <param name="build">Parses nothing; validates the parsed body into the operation or an error.</param>
    /// <param name="readOnly">For an operation that changes nothing, the read that decides it; null to queue it.</param>
    /// <param name="alone">Bench baseline: a transaction of its own instead of the group commit.</param>
    public async Task Balance<TBody, TOp, T>(HttpContext http, Func<TBody, OperationContext, Result<TOp>> build,
        Func<TOp, Func<IStoreSession, Task<T>>?>? readOnly = null, bool alone = false)
        where TBody : class where TOp : Kassa.Engine.Balances.BalanceOp<T>
    {
        var read = await JsonBody.ReadBytesAsync(http.Request, http.RequestAborted);
        if (!read.IsOk)
        {
            await ApiResponses.WriteError(http, read.Error!);
            return;
        }
        var body = read.Value;
        var op = Operation(http);
        var (key, claimToken, answered) = await ClaimHeaderAsync(http, op, body);
        if (answered) return;

        (int Status, byte[] Body, bool Stored) answer;
        try
        {
            answer = await DecideBalance(http, op, body, build, readOnly, alone, key, claimToken);
        }
        catch
        {
            // A 5xx is not stored: free the key so the retry runs again.
            if (claimToken is not null)
                await ReleaseClaimAsync(op, key!, claimToken);
            throw;
        }
        if (claimToken is not null && !answer.Stored)
        {
            var (status, bytes, _) = answer;
            if (status < 500 && status != StatusCodes.Status429TooManyRequests)
                await store.WriteAsync(s => s.Idempotency.CompleteAsync(op.Tenant, key!, claimToken, status, bytes, op.Now + ClaimIdempotencyKey.Retention),
                    ct: CancellationToken.None);
            else
                await ReleaseClaimAsync(op, key!, claimToken);
        }
        if (answer.Status == StatusCodes.Status200OK) signal.Poke();
        await ApiResponses.WriteBytes(http, answer.Status, answer.Body);
    }

    /// <summary>
    /// Bench only (KASSA_BENCH_ROUTES=1): a balance request's whole HTTP path — authentication, the body read, parsed
    /// and validated, an answer rendered as JSON — with <paramref name="answer"/> standing in for the decision. With
    /// <paramref name="through"/> null nothing else runs: no storage, no group commit. Otherwise the decided operation
    /// goes through the balance engine as far as that stage (<see cref="Kassa.Engine.Balances.BenchStage"/>) and is
    /// answered from there. Each bounds what the real request can reach on this machine (bench/README.md).
    /// </summary>
    public async Task BenchCeiling<TBody, TOp, T>(HttpContext http, Func<TBody, OperationContext, Result<TOp>> build, Func<TOp, T> answer,
        Kassa.Engine.Balances.BenchStage? through = null)
        where TBody : class where TOp : Kassa.Engine.Balances.BalanceOp<T>
    {
        var read = await JsonBody.ReadBytesAsync(http.Request, http.RequestAborted);
        if (!read.IsOk)
        {
            await ApiResponses.WriteError(http, read.Error!);
            return;
        }
        var context = Operation(http);
        var parsed = JsonBody.Parse<TBody>(read.Value);
        var built = parsed.IsOk ? build(parsed.Value, context) : Result<TOp>.Fail(parsed.Error!);
        if (!built.IsOk)
        {
            var (errorStatus, errorBytes) = ApiErrors.Render(built.Error!, context.RequestId);
            await ApiResponses.WriteBytes(http, errorStatus, errorBytes);
            return;
        }
        var op = built.Value;
        var decided = Result<T>.Ok(answer(op));
        if (through is { } stage)
        {
            op.Decision = decided;
            op.Bench = stage;
            if (!engine.TryEnqueue(op))
            {
                http.Response.Headers.RetryAfter = ((int)OverloadRetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
                var (busyStatus, busyBytes, _) = Refused(new KassaError(ErrorCodes.Overloaded, "The balance engine is at capacity; retry after the time in Retry-After"), context);
                await ApiResponses.WriteBytes(http, busyStatus, busyBytes);
                return;
            }
            decided = await op.Completion;
        }
        var (status, bytes) = Render(decided, context);
        await ApiResponses.WriteBytes(http, status, bytes);
    }

    /// <summary>
    /// Parses, validates and decides the request. Stored is true when the answer was already stored under
    /// the claimed key in the operation's own transaction (a queued operation with a claim: the key's
    /// answer commits with the effect, spec §1.3).
    /// </summary>
    private async Task<(int Status, byte[] Body, bool Stored)> DecideBalance<TBody, TOp, T>(HttpContext http, OperationContext context, byte[] body,
        Func<TBody, OperationContext, Result<TOp>> build, Func<TOp, Func<IStoreSession, Task<T>>?>? readOnly, bool alone, string? key, string? claimToken)
        where TBody : class where TOp : Kassa.Engine.Balances.BalanceOp<T>
    {
        var parsed = JsonBody.Parse<TBody>(body);
        if (!parsed.IsOk) return Refused(parsed.Error!, context);
        string? clockId = null;
        if (parsed.Value is Kassa.Engine.Balances.ICustomerScoped { CustomerId: { } customerId })
        {
            // A test clock's customer checks and tracks in the clock's time (spec §11).
            (clockId, var now) = await clocks.ForAsync(context.Tenant, customerId, context.Now, http.RequestAborted);
            if (clockId is not null) context = context.At(now);
        }
        var built = build(parsed.Value, context);
        if (built is { IsOk: true, Value: Kassa.Engine.Balances.FinalizeLockOp finalize } && clockId is null)
        {
            // A finalize names no customer: its lock's customer may live on a test clock (spec §11).
            (clockId, var now) = await clocks.ForLockAsync(context.Tenant, finalize.LockId, context.Now, http.RequestAborted);
            if (clockId is not null) built = build(parsed.Value, context = context.At(now));
        }
        if (!built.IsOk) return Refused(built.Error!, context);
        var op = built.Value;
        op.ClockId = clockId;
        if (readOnly?.Invoke(op) is { } decide)
        {
            // Nothing to protect: a read-only check changes nothing, so its answer is stored afterwards. On PostgreSQL
            // it is decided with the other checks waiting, from one read (ReadOnlyCheckQueue); the bench baseline reads alone.
            if (!alone && readOnlyChecks.Enabled && op is Kassa.Engine.Balances.CheckOp check)
            {
                if (!readOnlyChecks.TryEnqueue(check))
                {
                    http.Response.Headers.RetryAfter = ((int)OverloadRetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    return Refused(new KassaError(ErrorCodes.Overloaded, "The check queue is at capacity; retry after the time in Retry-After"), context);
                }
                var (decidedStatus, decidedBytes) = Render(await op.Completion, context);
                return (decidedStatus, decidedBytes, false);
            }
            var (status, bytes) = Render(Result<T>.Ok(await store.ReadAsync(decide, http.RequestAborted)), context);
            return (status, bytes, false);
        }
        if (claimToken is not null)
        {
            op.CommitWith = async s =>
            {
                var (status, bytes) = Render(op.Decision!.Value, context);
                // False only if the claim was taken over after its 60 s lease, while this waited in a
                // queue that drains in milliseconds; the effect still commits, answered as decided.
                await s.Idempotency.CompleteAsync(context.Tenant, key!, claimToken, status, bytes, context.Now + ClaimIdempotencyKey.Retention);
            };
        }
        if (alone) await engine.RunAloneAsync(op, CancellationToken.None);
        else if (!engine.TryEnqueue(op))
        {
            http.Response.Headers.RetryAfter = ((int)OverloadRetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Refused(new KassaError(ErrorCodes.Overloaded, "The balance engine is at capacity; retry after the time in Retry-After"), context);
        }
        // Not cancelled with the request: once queued, the operation is decided and committed either way.
        var (okStatus, okBytes) = Render(await op.Completion, context);
        return (okStatus, okBytes, claimToken is not null);
    }

    private static (int Status, byte[] Body, bool Stored) Refused(KassaError error, OperationContext context)
    {
        var (status, bytes) = ApiErrors.Render(error, context.RequestId);
        return (status, bytes, false);
    }

    private static (int Status, byte[] Body) Render<T>(Result<T> result, OperationContext context) =>
        result.IsOk
            ? (StatusCodes.Status200OK, JsonSerializer.SerializeToUtf8Bytes<object>(result.Value!, KassaJson.Options))
            : ApiErrors.Render(result.Error!, context.RequestId);

    /// <summary>
    /// Claims the <c>Idempotency-Key</c> header when one was sent (spec §1.3). Answered is true when the
    /// request was already answered here: a replay of the stored response, a key still in use, a key
    /// reused with another request, or a malformed key. Otherwise the claim token (null without a header)
    /// must be completed or released.
    /// </summary>
    private async Task<(string? Key, string? ClaimToken, bool Answered)> ClaimHeaderAsync(HttpContext http, OperationContext op, byte[] body)
    {
        if (!http.Request.Headers.TryGetValue(IdempotencyKeyHeader, out var header)) return (null, null, false);
        var key = header.ToString();
        if (Rules.IdempotencyKey(key) is { } problem)
        {
            await ApiResponses.WriteError(http, KassaError.Validation(IdempotencyKeyHeader, problem));
            return (key, null, true);
        }
        var fingerprint = ClaimIdempotencyKey.Fingerprint(http.Request.Method, http.Request.Path + http.Request.QueryString, body);
        var claim = await store.WriteAsync(s => ClaimIdempotencyKey.Execute(s, op.Tenant, key, fingerprint, op.RequestId, op.Now), ct: http.RequestAborted);
        switch (claim.Outcome)
        {
            case ClaimOutcome.Replay:
                // Like Stripe: this response has its own Request-Id; Original-Request names the one replayed.
                http.Response.Headers["Idempotent-Replayed"] = "true";
                http.Response.Headers["Original-Request"] = claim.Previous!.RequestId;
                await ApiResponses.WriteBytes(http, claim.Previous!.ResponseStatus!.Value, claim.Previous.ResponseBody!);
                return (key, null, true);
            case ClaimOutcome.InUse:
                await ApiResponses.WriteError(http, new KassaError(ErrorCodes.IdempotencyKeyInUse,
                    "A request with this Idempotency-Key is still being processed; retry after it completes"));
                return (key, null, true);
            case ClaimOutcome.Reused:
                await ApiResponses.WriteError(http, new KassaError(ErrorCodes.IdempotencyKeyReused,
                    "This Idempotency-Key was already used with a different method, path or body"));
                return (key, null, true);
        }
        return (key, claim.ClaimToken, false);
    }

    /// <summary>Frees a claimed key without a stored response (a 5xx or a 429), so the retry runs again.</summary>
    private Task ReleaseClaimAsync(OperationContext op, string key, string claimToken) =>
        store.WriteAsync(async s => { await s.Idempotency.ReleaseAsync(op.Tenant, key, claimToken); return true; }, ct: CancellationToken.None);

    /// <summary>
    /// A mutation in two transactions with an outside call between them (a payment or a refund): the
    /// body is parsed and <paramref name="begin"/> writes an attempt that commits on its own; then
    /// <paramref name="complete"/> calls the provider (the attempt's id is its idempotency key) and
    /// records the outcome in a transaction of its own. The Idempotency-Key header is claimed first, as in
    /// <see cref="Mutate{TBody,TResult}"/>, and the answer is stored under it after the second step, so a
    /// retry replays it. A retry whose first run died between the steps (its claim then lapses unstored)
    /// runs again: <paramref name="begin"/> receives the key and must find the attempt it began instead of
    /// beginning another, so even a lost response never charges twice.
    /// </summary>
    /// <param name="begin">Runs in the first transaction with the parsed body and the request's key (null without one); returns the attempt's id.</param>
    /// <param name="complete">Runs after that commit; answers the reply or an error.</param>
    public Task MutateInSteps<TBody>(HttpContext http, Func<IStoreSession, OperationContext, TBody, string?, Task<Result<string>>> begin,
        Func<OperationContext, string, Task<Result<Reply>>> complete) where TBody : class =>
        // The outcome is recorded at its own time (settled_at, the ledger entry), after the attempt's.
        InTwoSteps<TBody, string, Reply>(http, begin, (attempt, _, _) => complete(Operation(http), attempt), r => r);

    private sealed record EmptyBody;

    /// <summary>
    /// <paramref name="prepare"/> parses the body into the work, with the key the mutation batcher shards by
    /// (the customer the request is about, else the object its route names; null: any writer loop).
    /// </summary>
    private async Task Run(HttpContext http, Func<byte[], (Result<Work> Work, string? ShardKey, bool LoadsBook)> prepare)
    {
        var ct = http.RequestAborted;
        var requestId = http.RequestId();
        var read = await JsonBody.ReadBytesAsync(http.Request, ct);
        if (!read.IsOk)
        {
            await ApiResponses.WriteError(http, read.Error!);
            return;
        }
        var body = read.Value;

        var op = Operation(http);
        var (key, claimToken, answered) = await ClaimHeaderAsync(http, op, body);
        if (answered) return;

        // The work, as it runs inside a transaction: the use case, then (on success) the response stored
        // under the claimed key, so the effect and the stored answer commit together.
        var (prepared, shardKey, loadsBook) = prepare(body);
        async Task<MutationOutcome> Decide(IStoreSession session)
        {
            var result = await prepared.Value(session, op);
            if (!result.IsOk)
            {
                var (errorStatus, errorBody) = ApiErrors.Render(result.Error!, requestId);
                return new MutationOutcome(errorStatus, errorBody, false, false);
            }
            var bytes = JsonSerializer.SerializeToUtf8Bytes(result.Value.Body, KassaJson.Options);
            if (claimToken is not null &&
                !await session.Idempotency.CompleteAsync(op.Tenant, key!, claimToken, result.Value.Status, bytes, op.Now + ClaimIdempotencyKey.Retention))
                return new MutationOutcome(0, [], true, LostClaim: true);
            return new MutationOutcome(result.Value.Status, bytes, true, false);
        }

        // A refusal (4xx) is stored under the key so a retry with the same key sees the same answer; a 5xx is not.
        Task StoreRefusal(IStoreSession s, MutationOutcome refused) =>
            refused.Status < 500
                ? s.Idempotency.CompleteAsync(op.Tenant, key!, claimToken!, refused.Status, refused.Body, op.Now + ClaimIdempotencyKey.Retention)
                : Task.CompletedTask;

        MutationOutcome? outcome = null;
        var refusalStored = false;
        try
        {
            if (!prepared.IsOk)
            {
                // Refused before any work (a malformed body): nothing to run, only the refusal to store.
                var (status, bytes) = ApiErrors.Render(prepared.Error!, requestId);
                outcome = new MutationOutcome(status, bytes, false, false);
            }
            else if (batcher.Enabled)
            {
                var item = new MutationItem(Decide, claimToken is null ? null : StoreRefusal)
                {
                    Subject = shardKey is null ? null : (op.Tenant, shardKey),
                    LoadsBook = loadsBook,
                };
                if (!batcher.TryEnqueue(item))
                {
                    if (claimToken is not null) await ReleaseClaimAsync(op, key!, claimToken);
                    http.Response.Headers.RetryAfter = ((int)OverloadRetryAfter.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    await ApiResponses.WriteError(http, new KassaError(ErrorCodes.Overloaded, "The server's write queue is at capacity; retry after the time in Retry-After"));
                    return;
                }
                // Not cancelled with the request: once queued, the work is decided and committed either way.
                outcome = await item.Completion;
                // Null: the work threw inside the batch (rolled back to its savepoint); it runs again alone below.
                refusalStored = outcome is not null;
            }
            outcome ??= await store.WriteAsync(Decide, commitIf: o => o.Keep, ct: CancellationToken.None);
        }
        catch
        {
            // A 5xx is not stored: free the key so the retry runs again.
            if (claimToken is not null)
                await ReleaseClaimAsync(op, key!, claimToken);
            throw;
        }

        if (outcome.LostClaim)
        {
            await ApiResponses.WriteError(http, new KassaError(ErrorCodes.IdempotencyKeyInUse,
                "This request outlived its hold on the Idempotency-Key and was rolled back; retry it"));
            return;
        }
        if (!outcome.Ok && claimToken is not null && !refusalStored)
        {
            // The effect was rolled back; store the refusal so a retry with the same key sees the same answer.
            await store.WriteAsync(async s => { await StoreRefusal(s, outcome); return true; }, ct: CancellationToken.None);
        }
        // A committed change may have written events: wake this node's webhook worker.
        if (outcome.Ok) signal.Poke();
        await ApiResponses.WriteBytes(http, outcome.Status, outcome.Body);
    }
}
