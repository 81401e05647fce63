from pingtree.cli import main

main()
