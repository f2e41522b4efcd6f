%% Run by EjabberdPeer with erl's -eval once ejabberd has started: watches ejabberd's own SQLite connection (ejabberd
%% 23.01 opens one per host, a registered sqlite3 process every SQL pool worker shares), applies the pragmas in
%% BENCH_SQLITE_PRAGMAS to it (none for the stock setup), and appends what the connection then runs with to
%% BENCH_SQLITE_REPORT. Should ejabberd reopen the connection, it does both again.
Db = ejabberd_sql:sqlite_db(list_to_binary(os:getenv("BENCH_DOMAIN"))),
Pragmas = string:lexemes(os:getenv("BENCH_SQLITE_PRAGMAS", ""), ";"),
Report = os:getenv("BENCH_SQLITE_REPORT"),
Value = fun(Q) -> case sqlite3:sql_exec(Db, Q) of [{columns, _}, {rows, [{V}]}] -> V; Other -> Other end end,
Watch = fun Watch(Last) ->
    case whereis(Db) of
        undefined -> timer:sleep(20), Watch(Last);
        Last -> Ref = monitor(process, Last), receive {'DOWN', Ref, _, _, _} -> Watch(undefined) end;
        Pid ->
            [ok = sqlite3:sql_exec(Db, P) || P <- Pragmas],
            ok = file:write_file(Report, io_lib:format("journal_mode=~ts synchronous=~p~n",
                [Value("pragma journal_mode"), Value("pragma synchronous")]), [append]),
            Watch(Pid)
    end end,
spawn(fun() -> Watch(undefined) end).
