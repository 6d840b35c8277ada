from flan_repro.cli import main

raise SystemExit(main())
