from .bridge import main

raise SystemExit(main())
